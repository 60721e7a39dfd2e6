"""One upload pass at a time: the hub's last pass at shutdown never puts a file a second time."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from hub.media.spool import MediaSpool, SpoolEntry
from hub.media.uploader import MediaUploader
from storage.base import ObjectInfo
from storage.local import LocalObjectStore

KEY = "clips/cam/2026/12/04/e1.mp4"


class WireStore(LocalObjectStore):
    """Reads the file at once, as an S3 client does, then holds the upload "on the wire" until released."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, signing_key=b"k", base_url="http://x")
        self.started: Counter[str] = Counter()
        self.first_started = asyncio.Event()
        self.release = asyncio.Event()

    async def put(
        self, key: str, data: bytes | Path, *, content_type: str, metadata: dict[str, str] | None = None
    ) -> ObjectInfo:
        body = await asyncio.to_thread(data.read_bytes) if isinstance(data, Path) else data
        self.started[key] += 1
        self.first_started.set()
        await self.release.wait()
        return await super().put(key, body, content_type=content_type, metadata=metadata)


async def test_a_pass_started_during_another_waits_and_puts_nothing_twice(tmp_path: Path) -> None:
    spool = MediaSpool(tmp_path / "spool", max_bytes=10_000)
    spool.open()
    store = WireStore(tmp_path / "store")
    await store.start()
    stored: list[str] = []

    async def on_stored(entry: SpoolEntry) -> None:
        stored.append(entry.key)

    uploader = MediaUploader(spool, store, on_stored=on_stored)
    await uploader.start()
    try:
        spool.path_for(KEY).write_bytes(b"the last clip")
        spool.enqueue(KEY, content_type="video/mp4", metadata={"event": "e1"})
        uploader.wake()  # as a pipeline does when it queues its last clip at shutdown
        async with asyncio.timeout(5):
            await store.first_started.wait()

        final = asyncio.create_task(uploader.upload_pending())  # HubRuntime.stop's last pass
        await asyncio.wait([final], timeout=0.3)
        assert not final.done()  # it waits for the background pass...
        assert store.started == Counter({KEY: 1})  # ...instead of putting the same file again

        store.release.set()
        async with asyncio.timeout(5):
            assert await final is True
    finally:
        await uploader.stop()
    assert store.started == Counter({KEY: 1})
    assert stored == [KEY]
    assert await store.get(KEY) == b"the last clip"
    assert spool.pending() == []
    assert uploader.status.uploaded == 1
