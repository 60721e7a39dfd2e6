"""Uploads spooled media to the object store, in order, retrying until the store takes it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hub.aio import backoff_delay, cancel_and_wait
from hub.media.spool import MediaSpool, SpoolEntry
from storage.base import ObjectStore
from storage.errors import StorageError, StorageUnavailable

log = logging.getLogger(__name__)

OnStored = Callable[[SpoolEntry], Awaitable[None]]


@dataclass(slots=True)
class UploaderStatus:
    pending: int = 0
    pending_bytes: int = 0
    uploaded: int = 0
    store_available: bool = True
    last_error: str = ""
    last_success_at: float | None = None
    spool_over_limit: bool = False
    evicted: int = 0  # continuous segments dropped because the spool was full


class MediaUploader:
    def __init__(
        self,
        spool: MediaSpool,
        store: ObjectStore,
        *,
        on_stored: OnStored,
        on_evicted: OnStored | None = None,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
    ) -> None:
        self.spool = spool
        self.store = store
        self.on_stored = on_stored
        self.on_evicted = on_evicted
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.status = UploaderStatus()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # One pass at a time: the hub's last pass at shutdown must not put the files that the
        # background pass is putting right then, or they would reach the store twice.
        self._pass = asyncio.Lock()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="media-uploader")
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            if await self.upload_pending():
                failures = 0
                continue
            failures += 1
            delay = backoff_delay(failures, initial_s=self.retry_initial_s, max_s=self.retry_max_s)
            with contextlib.suppress(TimeoutError):  # woken early or the back-off ran out: retry either way
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.set()

    async def upload_pending(self) -> bool:
        """Upload everything queued, oldest first. False when the store failed (retry later).

        A call made while another pass runs waits for it, then uploads what is still queued.
        """
        async with self._pass:
            return await self._upload_pass()

    async def _upload_pass(self) -> bool:
        for dropped in await asyncio.to_thread(self.spool.evict_overflow):
            log.warning("spool: full; dropped continuous segment %s to keep event media", dropped.key)
            self.status.evicted += 1
            if self.on_evicted is not None:
                await self.on_evicted(dropped)
        entries = await asyncio.to_thread(self.spool.pending)
        self._refresh(entries)
        for entry in entries:
            try:
                await self.store.put(
                    entry.key, entry.path, content_type=entry.content_type, metadata=entry.metadata
                )
                await self.on_stored(entry)
            except StorageUnavailable as err:
                self._failed(f"object store unavailable: {err}")
                return False
            except StorageError as err:
                log.exception("spool: %s rejected by the object store; kept in the spool", entry.key)
                self._failed(f"{entry.key}: {err}")
                return False
            except Exception as err:  # the database may be down: keep the file, try again
                log.exception("spool: %s uploaded but not recorded; will retry", entry.key)
                self._failed(f"{entry.key}: {err}")
                return False
            await asyncio.to_thread(self.spool.remove, entry)
            self.status.uploaded += 1
            self.status.last_success_at = time.time()
            if not self.status.store_available:
                log.info("spool: object store is back; uploading the backlog")
            self.status.store_available = True
            self.status.last_error = ""
        self._refresh(await asyncio.to_thread(self.spool.pending))
        return True

    def _failed(self, message: str) -> None:
        if self.status.store_available or message != self.status.last_error:
            log.warning("spool: %s; %d file(s) wait in %s", message, self.status.pending, self.spool.root)
        self.status.store_available = False
        self.status.last_error = message

    def _refresh(self, entries: list[SpoolEntry]) -> None:
        self.status.pending = len(entries)
        self.status.pending_bytes = sum(e.size for e in entries)
        over = self.status.pending_bytes > self.spool.max_bytes
        if over and not self.status.spool_over_limit:
            log.error(
                "spool: %d bytes waiting, over the %d-byte limit; is the object store down?",
                self.status.pending_bytes,
                self.spool.max_bytes,
            )
        self.status.spool_over_limit = over
