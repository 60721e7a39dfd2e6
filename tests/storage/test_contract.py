"""The contract every ObjectStore backend must pass, run against each one.

The S3 leg runs against the real SeaweedFS server of ``tests/fixtures/seaweed.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from storage.base import ObjectInfo, ObjectStore
from storage.errors import InvalidKey, ObjectNotFound
from storage.local import LocalObjectStore
from storage.presign import PresignError, verify_object_signature
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
