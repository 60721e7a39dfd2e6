"""Faults of the S3 backend: the error mapping, bad credentials, and the server going away."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import pytest
import urllib3
from minio.error import InvalidResponseError, S3Error, ServerError

from storage.errors import ObjectNotFound, StorageError, StorageUnavailable
from storage.s3 import CAUGHT_ERRORS, S3ObjectStore, map_s3_error
from tests.fixtures.seaweed import S3Endpoint, SeaweedServer, make_s3_store


def _s3_error(code: str, status: int) -> S3Error:
    response = urllib3.HTTPResponse(status=status)
    return S3Error(response, code, f"{code} message", "/bucket/key", "req-1", None, "bucket", "key")


# One sample per caught type, so adding a type to CAUGHT_ERRORS without a mapping test fails below.
_SAMPLES: dict[type[Exception], Callable[[], Exception]] = {
    S3Error: lambda: _s3_error("NoSuchKey", 404),
    ServerError: lambda: ServerError("server failed with HTTP status code 502", 502),
    InvalidResponseError: lambda: InvalidResponseError(418, "text/html", "<html>teapot</html>"),
    urllib3.exceptions.MaxRetryError: lambda: urllib3.exceptions.MaxRetryError(
        urllib3.HTTPConnectionPool("127.0.0.1", 1), "/bucket", None
    ),
    urllib3.exceptions.NewConnectionError: lambda: urllib3.exceptions.NewConnectionError(
        urllib3.connection.HTTPConnection("127.0.0.1", 1), "refused"
    ),
    urllib3.exceptions.ProtocolError: lambda: urllib3.exceptions.ProtocolError("Connection aborted."),
    urllib3.exceptions.TimeoutError: lambda: urllib3.exceptions.ReadTimeoutError(
        urllib3.HTTPConnectionPool("127.0.0.1", 1), "/bucket", "read timed out"
    ),
    ConnectionError: lambda: ConnectionResetError(104, "Connection reset by peer"),
    OSError: lambda: OSError(113, "No route to host"),
}
_EXPECTED: dict[type[Exception], type[StorageError]] = {
    S3Error: ObjectNotFound,
    ServerError: StorageUnavailable,
    InvalidResponseError: StorageError,
}


def test_every_caught_error_has_a_mapping() -> None:
    assert set(CAUGHT_ERRORS) == set(_SAMPLES)
    for caught, make in _SAMPLES.items():
        err = make()
        assert isinstance(err, caught)
        mapped = map_s3_error(err, where="127.0.0.1:1/bucket/key")
        assert type(mapped) is _EXPECTED.get(caught, StorageUnavailable), caught
        assert "127.0.0.1:1/bucket/key" in str(mapped)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", 404, ObjectNotFound),
        ("NoSuchObject", 404, ObjectNotFound),
        ("SlowDown", 503, StorageUnavailable),
        ("InternalError", 500, StorageUnavailable),
        ("WhateverBroke", 502, StorageUnavailable),
        ("AccessDenied", 403, StorageError),
        ("NoSuchBucket", 404, StorageError),
    ],
)
def test_s3_error_codes(code: str, status: int, expected: type[StorageError]) -> None:
    mapped = map_s3_error(_s3_error(code, status), where="e/b/k")
    assert type(mapped) is expected


@pytest.mark.s3
async def test_single_part_etag_is_md5(s3_store: S3ObjectStore) -> None:
    info = await s3_store.put("a/b.txt", b"payload", content_type="text/plain")
    assert info.etag == hashlib.md5(b"payload").hexdigest()


@pytest.mark.s3
async def test_wrong_secret_is_not_retry_later(s3_server: S3Endpoint) -> None:
    store = make_s3_store(S3Endpoint(s3_server.endpoint, s3_server.access_key, "wrong-secret"))
    with pytest.raises(StorageError) as err:
        await store.start()
    assert not isinstance(err.value, StorageUnavailable)
    assert "refused the credentials" in str(err.value)
    await store.close()


@pytest.mark.s3
async def test_ping_on_missing_bucket(s3_server: S3Endpoint) -> None:
    store = make_s3_store(s3_server, bucket="never-created-bucket")
    with pytest.raises(StorageUnavailable) as err:
        await store.ping()
    assert str(err.value) == f"S3 bucket 'never-created-bucket' at {s3_server.endpoint} does not exist"
    await store.close()


@pytest.mark.s3
async def test_server_down_then_back(restartable_s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    await s3_store.put("clips/before.mp4", b"kept", content_type="video/mp4")
    restartable_s3_server.stop()

    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as ping_err:
        await s3_store.ping()
    with pytest.raises(StorageUnavailable) as put_err:
        await s3_store.put("clips/during.mp4", b"lost", content_type="video/mp4")
    with pytest.raises(StorageUnavailable):
        await s3_store.get("clips/before.mp4")
    assert time.monotonic() - started < 15
    endpoint = restartable_s3_server.endpoint.endpoint
    assert str(ping_err.value).startswith(f"S3 at {endpoint}/{s3_store.bucket} is unreachable")
    assert str(put_err.value).startswith(
        f"S3 at {endpoint}/{s3_store.bucket}/clips/during.mp4 is unreachable"
    )

    restartable_s3_server.start()
    await s3_store.ping()
    info = await s3_store.put("clips/after.mp4", b"back", content_type="video/mp4")
    assert info.size == 4
    assert await s3_store.get("clips/before.mp4") == b"kept"
    assert [i.key for i in await s3_store.list("clips/")] == ["clips/after.mp4", "clips/before.mp4"]
