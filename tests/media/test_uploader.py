"""MediaUploader against the real local object store, whose root disappears and comes back."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.media.spool import MediaSpool, SpoolEntry
from hub.media.uploader import MediaUploader
from storage.base import ObjectInfo
from storage.local import LocalObjectStore

KEYS = [f"clips/cam1/2026/12/04/e{i}.mp4" for i in range(1, 4)]


class Recorder:
    """``on_stored``: records each key; fails the first ``failures`` calls, as a database that is down."""

    def __init__(self, failures: int = 0) -> None:
        self.keys: list[str] = []
        self.failures = failures

    async def __call__(self, entry: SpoolEntry) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is down")
        self.keys.append(entry.key)


@pytest.fixture
def spool(tmp_path: Path) -> MediaSpool:
    spool = MediaSpool(tmp_path / "spool", max_bytes=10_000)
    spool.open()
    return spool


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalObjectStore]:
    store = LocalObjectStore(tmp_path / "store", signing_key=b"k", base_url="http://x")
    await store.start()
    yield store
    await store.close()


def queue(spool: MediaSpool, key: str, data: bytes) -> None:
    spool.path_for(key).write_bytes(data)
    spool.enqueue(key, content_type="video/mp4", metadata={"event": key.rsplit("/", 1)[1]})


async def test_uploads_in_order_with_content_and_metadata(spool: MediaSpool, store: LocalObjectStore) -> None:
    for i, key in enumerate(KEYS):
        queue(spool, key, bytes([i]) * 10)
    recorder = Recorder()
    uploader = MediaUploader(spool, store, on_stored=recorder)
    assert await uploader.upload_pending() is True
    assert recorder.keys == KEYS
    assert [await store.get(k) for k in KEYS] == [bytes([i]) * 10 for i in range(3)]
    info = await store.stat(KEYS[0])
    assert (info.content_type, info.metadata) == ("video/mp4", {"event": "e1.mp4"})
    assert spool.pending() == []
    assert not (spool.root / "clips").exists()
    status = uploader.status
    assert (status.uploaded, status.pending, status.pending_bytes, status.store_available) == (3, 0, 0, True)
    assert status.last_success_at is not None


async def test_store_down_keeps_files_then_uploads_the_backlog_once(
    spool: MediaSpool, store: LocalObjectStore
) -> None:
    recorder = Recorder()
    uploader = MediaUploader(spool, store, on_stored=recorder)
    queue(spool, KEYS[0], b"first")
    assert await uploader.upload_pending() is True

    shutil.rmtree(store.root)  # the disk was unmounted
    queue(spool, KEYS[1], b"second")
    queue(spool, KEYS[2], b"third")
    assert await uploader.upload_pending() is False
    status = uploader.status
    assert status.store_available is False
    assert status.last_error == (
        f"object store unavailable: local storage root {store.root} is missing (deleted or unmounted?)"
    )
    assert (status.pending, status.pending_bytes, status.uploaded) == (2, 11, 1)
    assert [e.key for e in spool.pending()] == KEYS[1:]
    assert (spool.root / KEYS[1]).read_bytes() == b"second"
    assert not store.root.exists()  # the uploader never re-creates a vanished root
    assert await uploader.upload_pending() is False  # still down: nothing changes
    assert recorder.keys == KEYS[:1]

    await store.start()  # mounted again
    assert await uploader.upload_pending() is True
    assert recorder.keys == KEYS  # each exactly once, in order
    assert spool.pending() == []
    assert [await store.get(k) for k in KEYS[1:]] == [b"second", b"third"]  # e1 went with the old disk
    status = uploader.status
    assert (status.store_available, status.last_error, status.pending, status.uploaded) == (True, "", 0, 3)
    assert await uploader.upload_pending() is True
    assert recorder.keys == KEYS


async def test_failing_on_stored_keeps_the_file_for_retry(spool: MediaSpool, store: LocalObjectStore) -> None:
    queue(spool, KEYS[0], b"a")
    queue(spool, KEYS[1], b"b")
    recorder = Recorder(failures=1)
    uploader = MediaUploader(spool, store, on_stored=recorder)
    assert await uploader.upload_pending() is False
    assert uploader.status.last_error == f"{KEYS[0]}: database is down"
    assert uploader.status.store_available is False
    assert [e.key for e in spool.pending()] == KEYS[:2]  # the first is kept although the store has it
    assert recorder.keys == []
    assert await uploader.upload_pending() is True
    assert recorder.keys == KEYS[:2]
    assert spool.pending() == []
    assert uploader.status.uploaded == 2


async def test_over_limit_is_reported(tmp_path: Path, store: LocalObjectStore) -> None:
    spool = MediaSpool(tmp_path / "small-spool", max_bytes=5)
    spool.open()
    queue(spool, KEYS[0], b"123456")
    shutil.rmtree(store.root)
    uploader = MediaUploader(spool, store, on_stored=Recorder())
    assert await uploader.upload_pending() is False
    assert (uploader.status.spool_over_limit, uploader.status.pending_bytes) == (True, 6)
    await store.start()
    assert await uploader.upload_pending() is True
    assert uploader.status.spool_over_limit is False


class WatchedStore(LocalObjectStore):
    """Sets ``put_called`` on every upload attempt, failed or not."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, signing_key=b"k", base_url="http://x")
        self.put_called = asyncio.Event()

    async def put(
        self, key: str, data: bytes | Path, *, content_type: str, metadata: dict[str, str] | None = None
    ) -> ObjectInfo:
        self.put_called.set()
        return await super().put(key, data, content_type=content_type, metadata=metadata)


class WatchedSpool(MediaSpool):
    """Once ``watching``, sets ``drained`` (on the loop) each time a look at the queue finds it empty."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, max_bytes=10_000)
        self.loop = asyncio.get_running_loop()
        self.drained = asyncio.Event()
        self.watching = False

    def pending(self) -> list[SpoolEntry]:  # the uploader calls it in a worker thread
        entries = super().pending()
        if self.watching and not entries:
            self.loop.call_soon_threadsafe(self.drained.set)
        return entries


async def test_background_task_retries_until_the_store_is_back(tmp_path: Path) -> None:
    spool = WatchedSpool(tmp_path / "spool")
    spool.open()
    spool.watching = True
    store = WatchedStore(tmp_path / "store")  # not started: its root does not exist yet
    recorder = Recorder()
    uploader = MediaUploader(spool, store, on_stored=recorder, retry_initial_s=0.05, retry_max_s=0.1)
    queue(spool, KEYS[0], b"a")
    await uploader.start()
    try:
        async with asyncio.timeout(5):
            await store.put_called.wait()  # first attempt: the store is down
            store.put_called.clear()
            await store.put_called.wait()  # it retries on its own, with back-off
        assert (uploader.status.store_available, recorder.keys) == (False, [])
        await store.start()
        async with asyncio.timeout(5):
            await spool.drained.wait()  # the last thing upload_pending does after a full pass
        spool.drained.clear()
        queue(spool, KEYS[1], b"b")
        uploader.wake()
        async with asyncio.timeout(5):
            await spool.drained.wait()
    finally:
        await uploader.stop()
    assert recorder.keys == KEYS[:2]
    assert spool.pending() == []
    assert uploader.status.uploaded == 2
    assert uploader.status.store_available is True


async def test_store_down_and_spool_full_drops_segments_and_reports_them(
    tmp_path: Path, store: LocalObjectStore
) -> None:
    spool = MediaSpool(tmp_path / "small-spool", max_bytes=2500)
    spool.open()
    queue(spool, "clips/cam/2026/12/04/e1.mp4", b"c" * 1000)
    queue(spool, "segments/cam/2026/12/04/000000-000.mp4", b"s" * 1000)
    queue(spool, "segments/cam/2026/12/04/000100-000.mp4", b"s" * 1000)
    shutil.rmtree(tmp_path / "store")  # the store is down: nothing leaves the spool
    stored, dropped = Recorder(), Recorder()
    uploader = MediaUploader(spool, store, on_stored=stored, on_evicted=dropped)

    assert await uploader.upload_pending() is False

    assert dropped.keys == ["segments/cam/2026/12/04/000000-000.mp4"]
    assert stored.keys == []
    assert [e.key for e in spool.pending()] == [
        "clips/cam/2026/12/04/e1.mp4",
        "segments/cam/2026/12/04/000100-000.mp4",
    ]
    assert (uploader.status.evicted, uploader.status.spool_over_limit) == (1, False)
