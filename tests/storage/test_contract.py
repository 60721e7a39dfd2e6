"""The contract every ObjectStore backend must pass, run against each one.

The S3 leg runs against the real SeaweedFS server of ``tests/fixtures/seaweed.py``; the lock
(WORM) leg on S3 uses a bucket created with Object Lock.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from storage.base import LockMode, ObjectInfo, ObjectLock, ObjectStore, whole_second
from storage.errors import InvalidKey, ObjectLocked, ObjectNotFound
from storage.local import LocalObjectStore
from storage.presign import PresignError, verify_object_signature
from storage.s3 import S3ObjectStore
from tests.fixtures.seaweed import S3Endpoint, make_s3_store

SIGNING_KEY = b"contract-test-signing-key-32byte"
BASE_URL = "http://hub.test:8080"
BAD_KEYS = ["../x", "/abs", "a//b", "", "a/./b", "a/..", "sp ace", "a/b/"]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    """A started, empty store of each backend."""
    backend: ObjectStore
    if request.param == "local":
        backend = LocalObjectStore(tmp_path / "objects", signing_key=SIGNING_KEY, base_url=BASE_URL)
    else:
        endpoint: S3Endpoint = request.getfixturevalue("s3_server")
        backend = make_s3_store(endpoint)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


def _assert_recent(info: ObjectInfo, before: datetime) -> None:
    assert info.last_modified.tzinfo is not None
    assert info.last_modified.utcoffset() == timedelta(0)
    # S3 stores whole seconds, so allow the second the put started in.
    assert before - timedelta(seconds=1) <= info.last_modified <= datetime.now(UTC) + timedelta(seconds=1)


async def test_put_bytes_then_get_and_stat(store: ObjectStore) -> None:
    before = datetime.now(UTC)
    info = await store.put(
        "clips/cam-1/2026/12/04/ev-1.mp4",
        b"\x00\x01fake-mp4",
        content_type="video/mp4",
        metadata={"Camera-Id": "cam-1", "event": "ev-1"},
    )
    assert (info.key, info.size, info.content_type) == ("clips/cam-1/2026/12/04/ev-1.mp4", 10, "video/mp4")
    assert info.metadata == {"camera-id": "cam-1", "event": "ev-1"}
    assert info.etag != ""
    _assert_recent(info, before)
    assert await store.get("clips/cam-1/2026/12/04/ev-1.mp4") == b"\x00\x01fake-mp4"
    assert await store.stat("clips/cam-1/2026/12/04/ev-1.mp4") == info


async def test_content_type_is_kept_even_when_the_extension_says_otherwise(store: ObjectStore) -> None:
    info = await store.put("snaps/cam-1/a.jpg", b"{}", content_type="application/json")
    assert info.content_type == "application/json"
    assert (await store.stat("snaps/cam-1/a.jpg")).content_type == "application/json"
    assert (await store.stat("snaps/cam-1/a.jpg")).metadata == {}


async def test_put_small_file(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "thumb.jpg"
    source.write_bytes(b"\xff\xd8jpeg-bytes\xff\xd9")
    info = await store.put("thumbs/cam-2/t.jpg", source, content_type="image/jpeg", metadata={"w": "320"})
    assert (info.size, info.content_type, info.metadata) == (14, "image/jpeg", {"w": "320"})
    assert await store.get("thumbs/cam-2/t.jpg") == b"\xff\xd8jpeg-bytes\xff\xd9"


async def test_put_large_file_round_trips_exactly(store: ObjectStore, tmp_path: Path) -> None:
    """21 MiB: two 16 MiB parts on S3 (multipart), chunked copy locally."""
    payload = os.urandom(21 * 1024 * 1024)
    source = tmp_path / "clip.mp4"
    source.write_bytes(payload)
    info = await store.put("clips/cam-1/big.mp4", source, content_type="video/mp4", metadata={"k": "v"})
    assert (info.size, info.content_type, info.metadata) == (len(payload), "video/mp4", {"k": "v"})
    assert await store.get("clips/cam-1/big.mp4") == payload
    assert await store.stat("clips/cam-1/big.mp4") == info


async def test_list_with_prefix_is_sorted_and_exact(store: ObjectStore) -> None:
    keys = [
        "clips/cam-1/b.mp4",
        "snaps/cam-1/x.jpg",
        "clips/cam-10/d.mp4",
        "clips/cam-1/a.mp4",
        "clips/cam-2/c.mp4",
    ]
    for key in keys:
        await store.put(key, key.encode(), content_type="video/mp4", metadata={"key": key})
    listed = await store.list("clips/cam-1/")
    assert [i.key for i in listed] == ["clips/cam-1/a.mp4", "clips/cam-1/b.mp4"]
    assert [(i.size, i.content_type, i.metadata) for i in listed] == [
        (17, "video/mp4", {"key": "clips/cam-1/a.mp4"}),
        (17, "video/mp4", {"key": "clips/cam-1/b.mp4"}),
    ]
    assert [i.key for i in await store.list("clips/cam-1")] == [
        "clips/cam-1/a.mp4",
        "clips/cam-1/b.mp4",
        "clips/cam-10/d.mp4",
    ]
    assert [i.key for i in await store.list()] == sorted(keys)
    assert await store.list("nothing/") == []
    assert listed == [await store.stat("clips/cam-1/a.mp4"), await store.stat("clips/cam-1/b.mp4")]


async def test_overwrite_replaces_bytes_type_and_metadata(store: ObjectStore) -> None:
    first = await store.put("k/obj.bin", b"one", content_type="text/plain", metadata={"a": "1"})
    second = await store.put("k/obj.bin", b"second", content_type="application/x-hub", metadata={"b": "2"})
    assert await store.get("k/obj.bin") == b"second"
    stat = await store.stat("k/obj.bin")
    assert (stat.size, stat.content_type, stat.metadata) == (6, "application/x-hub", {"b": "2"})
    assert stat.etag == second.etag != first.etag
    assert [i.key for i in await store.list("k/")] == ["k/obj.bin"]


async def test_delete_removes_and_is_idempotent(store: ObjectStore) -> None:
    await store.put("d/one.txt", b"1", content_type="text/plain")
    await store.put("d/two.txt", b"2", content_type="text/plain")
    await store.delete("d/one.txt")
    with pytest.raises(ObjectNotFound):
        await store.get("d/one.txt")
    assert [i.key for i in await store.list("d/")] == ["d/two.txt"]
    await store.delete("d/one.txt")
    await store.delete("never/existed.txt")
    assert await store.get("d/two.txt") == b"2"


@pytest.mark.parametrize("key", ["missing.mp4", "no/such/dir/clip.mp4"])
async def test_missing_key_is_object_not_found(store: ObjectStore, key: str) -> None:
    with pytest.raises(ObjectNotFound):
        await store.get(key)
    with pytest.raises(ObjectNotFound):
        await store.stat(key)


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_unsafe_keys_are_refused_everywhere(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        await store.put(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidKey):
        await store.get(key)
    with pytest.raises(InvalidKey):
        await store.stat(key)
    with pytest.raises(InvalidKey):
        await store.delete(key)
    with pytest.raises(InvalidKey):
        await store.presigned_get_url(key, timedelta(minutes=5))
    assert await store.list() == []


async def test_presigned_url_gives_the_exact_bytes(store: ObjectStore) -> None:
    payload = os.urandom(4096)
    await store.put("clips/cam-3/share.mp4", payload, content_type="video/mp4")
    url = await store.presigned_get_url("clips/cam-3/share.mp4", timedelta(minutes=10))
    if isinstance(store, LocalObjectStore):
        _check_local_presigned_url(store, url, payload)
        return
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == payload
    assert response.headers["content-type"] == "video/mp4"


def _check_local_presigned_url(store: LocalObjectStore, url: str, payload: bytes) -> None:
    """The hub's API serves this route; check what it will check, and the file it will stream."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
    assert parts.path == "/api/v1/objects/clips/cam-3/share.mp4"
    query = parse_qs(parts.query, strict_parsing=True)
    assert sorted(query) == ["expires", "signature"]
    expires_at, signature = int(query["expires"][0]), query["signature"][0]
    assert abs(expires_at - (time.time() + 600)) <= 2
    key = parts.path.removeprefix("/api/v1/objects/")
    verify_object_signature(key, expires_at, signature, SIGNING_KEY, now=time.time())
    assert store.path_of(key).read_bytes() == payload
    cases = [
        (("clips/cam-3/other.mp4", expires_at, signature, SIGNING_KEY), "signature does not match"),
        ((key, expires_at + 3600, signature, SIGNING_KEY), "signature does not match"),
        ((key, expires_at, "0" * 64, SIGNING_KEY), "signature does not match"),
        ((key, expires_at, signature, b"another-signing-key"), "signature does not match"),
    ]
    for args, message in cases:
        with pytest.raises(PresignError) as caught:
            verify_object_signature(*args, now=time.time())
        assert str(caught.value) == message
    with pytest.raises(PresignError) as caught:
        verify_object_signature(key, expires_at, signature, SIGNING_KEY, now=expires_at + 1)
    assert str(caught.value) == "URL expired"


# -- object lock (WORM) ----------------------------------------------------------------------------

EVIDENCE = "clips/cam-1/2026/12/04/ev-1.mp4"
GOVERNANCE, COMPLIANCE = LockMode.GOVERNANCE, LockMode.COMPLIANCE


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def locking_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    """A started, empty store that can lock: local, or S3 on a new bucket with Object Lock."""
    backend: ObjectStore
    if request.param == "local":
        backend = LocalObjectStore(tmp_path / "objects", signing_key=SIGNING_KEY, base_url=BASE_URL)
    else:
        endpoint: S3Endpoint = request.getfixturevalue("s3_server")
        backend = S3ObjectStore(
            endpoint=endpoint.endpoint,
            access_key=endpoint.access_key,
            secret_key=endpoint.secret_key,
            bucket=f"lock-{uuid.uuid4().hex[:20]}",
            object_lock=True,
        )
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


def _in(seconds: float) -> datetime:
    return whole_second(datetime.now(UTC) + timedelta(seconds=seconds))


def _facts(info: ObjectInfo) -> tuple[object, ...]:
    """All but last_modified, which SeaweedFS moves when it sets a retention or a legal hold."""
    return (info.key, info.size, info.content_type, info.etag, info.metadata)


def _at(at: datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M:%SZ}"


async def _delete_once_free(store: ObjectStore, key: str, *, within_s: float = 6.0) -> None:
    """Delete ``key`` as soon as its lock lets go (S3 cuts a lifted governance retention to
    lapse within a second; a test retention runs out by itself)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            await store.delete(key)
            return
        except ObjectLocked:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_a_retention_refuses_delete_and_other_bytes_until_lifted(locking_store: ObjectStore) -> None:
    store = locking_store
    assert store.supports_lock
    stored = await store.put(EVIDENCE, b"evidence", content_type="video/mp4", metadata={"event": "ev-1"})
    assert await store.lock_of(EVIDENCE) == ObjectLock()
    until = _in(3600)

    await store.lock(EVIDENCE, ObjectLock(GOVERNANCE, until))

    assert await store.lock_of(EVIDENCE) == ObjectLock(GOVERNANCE, until)
    assert _facts(await store.stat(EVIDENCE)) == _facts(stored)  # type and metadata survive the lock
    with pytest.raises(ObjectLocked) as refused:
        await store.delete(EVIDENCE)
    assert (refused.value.key, refused.value.until) == (EVIDENCE, until)
    assert str(refused.value) == (
        f"object {EVIDENCE!r} is locked (governance retention until {_at(until)}): cannot delete it"
    )
    with pytest.raises(ObjectLocked) as overwrite:
        await store.put(EVIDENCE, b"tampered", content_type="video/mp4")
    assert str(overwrite.value).endswith("cannot overwrite it with other bytes")
    retried = await store.put(EVIDENCE, b"evidence", content_type="video/mp4", metadata={"event": "ev-1"})
    assert _facts(retried) == _facts(stored)  # a retried upload of the same bytes changes nothing
    assert await store.get(EVIDENCE) == b"evidence"
    assert [info.key for info in await store.list("clips/")] == [EVIDENCE]
    if not isinstance(store, LocalObjectStore):  # the local route is checked in the presign test
        async with httpx.AsyncClient() as client:
            response = await client.get(await store.presigned_get_url(EVIDENCE, timedelta(minutes=1)))
        assert (response.status_code, response.content) == (200, b"evidence")
        assert response.headers["content-type"] == "video/mp4"

    await store.unlock(EVIDENCE)

    assert not (await store.lock_of(EVIDENCE)).held(datetime.now(UTC) + timedelta(seconds=2.5))
    await _delete_once_free(store, EVIDENCE)
    with pytest.raises(ObjectNotFound):
        await store.get(EVIDENCE)
    assert await store.list() == []


async def test_a_running_retention_is_extended_never_shortened_nor_switched(
    locking_store: ObjectStore,
) -> None:
    store = locking_store
    await store.put(EVIDENCE, b"evidence", content_type="video/mp4")
    first, later = _in(3600), _in(7200)
    await store.lock(EVIDENCE, ObjectLock(GOVERNANCE, first))

    await store.lock(EVIDENCE, ObjectLock(GOVERNANCE, later))
    assert await store.lock_of(EVIDENCE) == ObjectLock(GOVERNANCE, later)

    with pytest.raises(ObjectLocked) as shorter:
        await store.lock(EVIDENCE, ObjectLock(GOVERNANCE, first))
    assert str(shorter.value) == (
        f"object {EVIDENCE!r} is locked (governance retention until {_at(later)}): "
        f"cannot shorten it to {_at(first)}"
    )
    with pytest.raises(ObjectLocked) as switched:
        await store.lock(EVIDENCE, ObjectLock(COMPLIANCE, later))
    assert str(switched.value).endswith("cannot switch it to a compliance retention")
    past = whole_second(datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(ValueError, match="is not in the future"):
        await store.lock(EVIDENCE, ObjectLock(GOVERNANCE, past))
    assert await store.lock_of(EVIDENCE) == ObjectLock(GOVERNANCE, later)
    await store.unlock(EVIDENCE)
    await _delete_once_free(store, EVIDENCE)


async def test_a_compliance_retention_holds_until_its_date(locking_store: ObjectStore) -> None:
    store = locking_store
    await store.put(EVIDENCE, b"evidence", content_type="video/mp4")
    until = _in(2)
    await store.lock(EVIDENCE, ObjectLock(COMPLIANCE, until))

    with pytest.raises(ObjectLocked) as lifted:
        await store.unlock(EVIDENCE)
    assert (lifted.value.key, lifted.value.until) == (EVIDENCE, until)
    assert str(lifted.value) == (
        f"object {EVIDENCE!r} is locked (compliance retention until {_at(until)}): cannot lift it before then"
    )
    with pytest.raises(ObjectLocked):
        await store.delete(EVIDENCE)
    assert await store.lock_of(EVIDENCE) == ObjectLock(COMPLIANCE, until)

    await _delete_once_free(store, EVIDENCE)  # once the date has passed

    assert datetime.now(UTC) >= until
    assert await store.list() == []


async def test_a_legal_hold_lasts_until_lifted(locking_store: ObjectStore) -> None:
    store = locking_store
    await store.put(EVIDENCE, b"evidence", content_type="video/mp4")
    await store.lock(EVIDENCE, ObjectLock(legal_hold=True))

    assert await store.lock_of(EVIDENCE) == ObjectLock(legal_hold=True)
    with pytest.raises(ObjectLocked) as refused:
        await store.delete(EVIDENCE)
    assert refused.value.until is None
    assert str(refused.value) == f"object {EVIDENCE!r} is locked (a legal hold): cannot delete it"
    until = _in(3600)
    await store.lock(EVIDENCE, ObjectLock(GOVERNANCE, until))  # a retention on top: the hold stays
    assert await store.lock_of(EVIDENCE) == ObjectLock(GOVERNANCE, until, legal_hold=True)

    await store.unlock(EVIDENCE)

    assert not (await store.lock_of(EVIDENCE)).legal_hold
    await _delete_once_free(store, EVIDENCE)
    assert await store.list() == []


async def test_lock_calls_on_missing_or_unsafe_keys(locking_store: ObjectStore) -> None:
    store = locking_store
    for key in ("missing.mp4", "no/such/dir/clip.mp4"):
        with pytest.raises(ObjectNotFound):
            await store.lock(key, ObjectLock(legal_hold=True))
        with pytest.raises(ObjectNotFound):
            await store.unlock(key)
        with pytest.raises(ObjectNotFound):
            await store.lock_of(key)
    for key in BAD_KEYS:
        with pytest.raises(InvalidKey):
            await store.lock(key, ObjectLock(legal_hold=True))
        with pytest.raises(InvalidKey):
            await store.unlock(key)
        with pytest.raises(InvalidKey):
            await store.lock_of(key)
    assert await store.list() == []
