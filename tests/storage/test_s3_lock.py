"""S3 Object Lock on the real SeaweedFS: buckets without it, versions, multipart ETags, and the
content type that SeaweedFS drops when an object is locked."""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import urllib3
from minio import Minio

from storage.base import LockMode, ObjectLock, whole_second
from storage.errors import LockUnsupported, ObjectLocked
from storage.s3 import S3ObjectStore, content_etag
from tests.fixtures.seaweed import S3Endpoint, make_s3_store

pytestmark = pytest.mark.s3
KEY = "clips/cam-1/2026/12/04/ev-1.mp4"


def _store(endpoint: S3Endpoint, bucket: str, *, object_lock: bool) -> S3ObjectStore:
    return S3ObjectStore(
        endpoint=endpoint.endpoint,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        bucket=bucket,
        object_lock=object_lock,
    )


def _client(endpoint: S3Endpoint) -> Minio:
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2.0, read=5.0), retries=False)
    return Minio(
        endpoint.endpoint,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        secure=False,
        http_client=http,
    )


def _versions(client: Minio, bucket: str, key: str) -> list[tuple[str | None, bool]]:
    return [
        (item.version_id, bool(item.is_delete_marker))
        for item in client.list_objects(bucket, prefix=key, recursive=True, include_version=True)
        if item.object_name == key
    ]


@pytest.fixture
async def worm(s3_server: S3Endpoint) -> AsyncIterator[S3ObjectStore]:
    store = _store(s3_server, f"worm-{uuid.uuid4().hex[:20]}", object_lock=True)
    await store.start()
    yield store
    await store.close()


async def test_a_bucket_without_object_lock_cannot_lock(s3_store: S3ObjectStore) -> None:
    await s3_store.put(KEY, b"clip", content_type="video/mp4")

    assert s3_store.supports_lock is False
    with pytest.raises(LockUnsupported) as refused:
        await s3_store.lock(KEY, ObjectLock(legal_hold=True))
    assert f"S3 bucket {s3_store.bucket!r}" in str(refused.value)
    assert "can only be turned on when a bucket is created" in str(refused.value)
    await s3_store.delete(KEY)  # plain deletes are unchanged
    assert await s3_store.list() == []


async def test_asking_for_object_lock_on_an_existing_plain_bucket_logs_why(
    s3_server: S3Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    plain = make_s3_store(s3_server)
    await plain.start()
    store = _store(s3_server, plain.bucket, object_lock=True)

    with caplog.at_level(logging.ERROR, logger="storage.s3"):
        await store.start()

    assert store.supports_lock is False
    assert [r.getMessage() for r in caplog.records] == [
        f"storage: S3 bucket {plain.bucket!r} at {s3_server.endpoint} has no Object Lock (S3 turns it on "
        "only when a bucket is created): events marked keep are kept but not locked; point "
        "storage.s3.bucket at a new bucket to lock them"
    ]
    await store.close()
    await plain.close()


async def test_delete_in_a_locking_bucket_leaves_no_version_behind(
    worm: S3ObjectStore, s3_server: S3Endpoint
) -> None:
    client = _client(s3_server)
    await worm.put(KEY, b"first", content_type="video/mp4")
    await worm.put(KEY, b"second", content_type="video/mp4")  # unlocked: a new version
    assert len(_versions(client, worm.bucket, KEY)) == 2

    await worm.delete(KEY)

    assert _versions(client, worm.bucket, KEY) == []
    assert await worm.list() == []


async def test_an_older_locked_version_blocks_the_delete(worm: S3ObjectStore, s3_server: S3Endpoint) -> None:
    client = _client(s3_server)
    await worm.put(KEY, b"evidence", content_type="video/mp4")
    await worm.lock(KEY, ObjectLock(legal_hold=True))
    # Someone else writes over it behind the hub's back: S3 keeps the locked version.
    client.put_object(worm.bucket, KEY, io.BytesIO(b"other"), 5, content_type="video/mp4")

    with pytest.raises(ObjectLocked) as refused:
        await worm.delete(KEY)

    assert str(refused.value) == f"an older version of object {KEY!r} is locked: cannot delete it"
    assert refused.value.until is None
    assert [marker for _, marker in _versions(client, worm.bucket, KEY)] == [False]  # the locked one


async def test_a_retried_multipart_upload_of_a_locked_clip_is_taken_as_done(
    worm: S3ObjectStore, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(17 * 1024 * 1024))  # two 16 MiB parts
    stored = await worm.put(KEY, clip, content_type="video/mp4", metadata={"event": "ev-1"})
    assert stored.etag == content_etag(clip)
    assert stored.etag.endswith("-2")
    await worm.lock(
        KEY, ObjectLock(LockMode.GOVERNANCE, whole_second(datetime.now(UTC) + timedelta(hours=1)))
    )

    retried = await worm.put(KEY, clip, content_type="video/mp4", metadata={"event": "ev-1"})
    # The same object (SeaweedFS moved its last_modified when it set the retention).
    assert (retried.etag, retried.size, retried.metadata) == (stored.etag, stored.size, {"event": "ev-1"})
    other = tmp_path / "other.mp4"
    other.write_bytes(os.urandom(17 * 1024 * 1024))
    with pytest.raises(ObjectLocked):
        await worm.put(KEY, other, content_type="video/mp4")
    assert (await worm.stat(KEY)).content_type == "video/mp4"  # SeaweedFS lost it on the lock; we did not


def test_content_etag_of_bytes_is_their_md5() -> None:
    assert content_etag(b"payload") == "321c3cf486ed509164edec1e1981fec8"
