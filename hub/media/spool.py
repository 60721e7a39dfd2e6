"""The spool: clips and snapshots wait here until the object store has them.

The directory is the queue, so it survives a restart or a crash of the hub: a file is written
first (``<root>/<key>``), then a small JSON "ticket" beside it (``<root>/.queue/<seq>.json``)
makes it visible to the uploader. A file without its queue entry is an unfinished write and is
removed at start-up. Entries are uploaded in the order they were queued.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from storage.base import validate_key

log = logging.getLogger(__name__)

EVICTABLE_PREFIX = "segments/"  # continuous recording (hub.events.keys.segment_key)


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    seq: int
    key: str
    path: Path
    content_type: str
    metadata: dict[str, str]
    size: int


class MediaSpool:
    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._queue = root / ".queue"
        self._last_seq = 0

    def open(self) -> int:
        """Create the directories and drop unfinished writes; returns how many entries wait."""
        self._queue.mkdir(parents=True, exist_ok=True)
        entries = self.pending()
        # Queue after what is already there even if the wall clock went back over the restart.
        self._last_seq = max([self._last_seq, *(e.seq for e in entries)])
        queued = {e.path for e in entries}
        for path in self.root.rglob("*"):
            if path.is_file() and self._queue not in path.parents and path not in queued:
                log.warning("spool: removing unfinished file %s", path)
                path.unlink(missing_ok=True)
        return len(queued)

    def unqueued_keys(self) -> list[str]:
        """Keys of complete files that have no queue entry (``.part`` files are half-written).

        A crash between a file's row being written and its queue entry leaves one of these:
        :mod:`hub.media.reclaim` queues those the database knows; :meth:`open` removes the rest.
        """
        if not self.root.is_dir():
            return []
        queued = {e.path for e in self.pending()}
        keys = []
        for path in sorted(self.root.rglob("*")):
            unfinished = path.name.endswith(".part")
            if path.is_file() and not unfinished and self._queue not in path.parents and path not in queued:
                keys.append(path.relative_to(self.root).as_posix())
        return keys

    def path_for(self, key: str) -> Path:
        path = self.root / validate_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def enqueue(self, key: str, *, content_type: str, metadata: dict[str, str]) -> SpoolEntry:
        """Queue the file already written at :meth:`path_for` ``(key)`` for upload."""
        path = self.path_for(key)
        if not path.is_file():
            raise FileNotFoundError(f"spool: nothing written for {key}")
        seq = max(time.time_ns(), self._last_seq + 1)
        self._last_seq = seq
        entry = {"key": key, "content_type": content_type, "metadata": metadata}
        self._queue.mkdir(parents=True, exist_ok=True)  # also before open(), for hub.media.reclaim
        tmp = self._queue / f"{seq}.json.tmp"
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, self._queue / f"{seq}.json")
        return SpoolEntry(seq, key, path, content_type, metadata, path.stat().st_size)

    def pending(self) -> list[SpoolEntry]:
        entries: list[SpoolEntry] = []
        if not self._queue.is_dir():
            return entries
        for item in sorted(self._queue.glob("*.json"), key=lambda p: int(p.stem)):
            try:
                raw = json.loads(item.read_text())
                path = self.root / validate_key(raw["key"])
                size = path.stat().st_size
            except (OSError, ValueError, KeyError) as err:
                log.error("spool: dropping broken queue entry %s (%s)", item.name, err)
                item.unlink(missing_ok=True)
                continue
            entries.append(
                SpoolEntry(int(item.stem), raw["key"], path, raw["content_type"], raw["metadata"], size)
            )
        return entries

    def remove(self, entry: SpoolEntry) -> None:
        (self._queue / f"{entry.seq}.json").unlink(missing_ok=True)
        entry.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # tidy empty date folders; another writer may race us
            parent = entry.path.parent
            while parent != self.root and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent

    def bytes_used(self) -> int:
        return sum(e.size for e in self.pending())

    def over_limit(self) -> bool:
        return self.bytes_used() > self.max_bytes

    def evict_overflow(self) -> list[SpoolEntry]:
        """Over the limit: drop the oldest continuous-recording segments until under it.

        Event clips and snapshots are never dropped: they are evidence of something that
        happened, where a segment is only the background record.
        """
        entries = self.pending()
        total = sum(e.size for e in entries)
        evicted: list[SpoolEntry] = []
        for entry in entries:
            if total <= self.max_bytes:
                break
            if entry.key.startswith(EVICTABLE_PREFIX):
                self.remove(entry)
                total -= entry.size
                evicted.append(entry)
        return evicted
