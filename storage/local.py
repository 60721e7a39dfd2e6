"""The embedded default backend: objects are files under a root directory.

``root/<key>`` holds the bytes; ``root/.meta~/<key>.json`` holds content type, metadata, size and
sha256 so that stat and list can return them; ``root/.lock~/<key>.json`` holds the object's lock
(retention mode and date, legal hold), which this class enforces on delete and put. ``~`` is
outside the key alphabet (:func:`storage.base.validate_key`), so neither the sidecar directories
nor a temp file (``<name>~<token>.tmp``) can ever collide with a key or show up in
:meth:`LocalObjectStore.list`.

The lock is as strong as the directory's permissions: anyone who can write the files can remove
it. It gives the hub the same behaviour as S3 Object Lock, not tamper-proof storage.
"""

from __future__ import annotations

import asyncio
import builtins
import errno
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TypeVar

from storage.base import (
    LockMode,
    ObjectInfo,
    ObjectLock,
    ObjectStore,
    check_relock,
    check_unlock,
    locked_error,
    validate_key,
    whole_second,
)
from storage.errors import ObjectNotFound, StorageError, StorageUnavailable
from storage.presign import sign_object_url, verify_object_signature

_T = TypeVar("_T")
_META_DIR = ".meta~"
_LOCK_DIR = ".lock~"
_CHUNK = 1024 * 1024
_DEFAULT_TYPE = "application/octet-stream"

# errno -> why the operator should look at the disk; the store may work again once that is fixed.
_UNAVAILABLE_ERRNOS: dict[int, str] = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk full (quota exceeded)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only filesystem",
    errno.EIO: "I/O error",
}


class LocalObjectStore(ObjectStore):
    """Objects as files; writes are atomic (temp file, fsync, ``os.replace``)."""

    backend = "local"

    def __init__(
        self,
        root: Path,
        *,
        signing_key: bytes,
        base_url: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not signing_key:
            raise ValueError("signing_key is empty")
        self._root = Path(root)
        self._meta = self._root / _META_DIR
        self._locks = self._root / _LOCK_DIR
        self._signing_key = signing_key
        self._base_url = base_url.rstrip("/")
        self._clock = clock  # when retentions run out; tests move it

    @property
    def root(self) -> Path:
        return self._root

    def verify_url(self, key: str, expires_at: int, signature: str, *, now: float) -> None:
        """Check a presigned URL this store issued; raises PresignError."""
        verify_object_signature(key, expires_at, signature, self._signing_key, now=now)

    def path_of(self, key: str) -> Path:
        """Where the object's bytes live, so the API can stream the file itself."""
        return self._root / validate_key(key)

    async def start(self) -> None:
        await self._run(self._start_sync)

    async def close(self) -> None:
        """Nothing to release: every operation opens and closes its own files."""

    async def ping(self) -> None:
        await self._run(self._ping_sync)

    @property
    def supports_lock(self) -> bool:
        return True

    async def put(
        self,
        key: str,
        data: bytes | Path,
        *,
        content_type: str,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        validate_key(key)
        meta = {k.lower(): v for k, v in (metadata or {}).items()}
        return await self._run(self._put_sync, key, data, content_type or _DEFAULT_TYPE, meta)

    async def get(self, key: str) -> bytes:
        validate_key(key)
        return await self._run(self._get_sync, key)

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        return await self._run(self._stat_sync, key)

    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        if prefix:
            validate_key(prefix.rstrip("/"))
        return await self._run(self._list_sync, prefix)

    async def delete(self, key: str) -> None:
        validate_key(key)
        await self._run(self._delete_sync, key)

    async def lock(self, key: str, lock: ObjectLock) -> None:
        validate_key(key)
        await self._run(self._lock_sync, key, lock)

    async def unlock(self, key: str) -> None:
        validate_key(key)
        await self._run(self._unlock_sync, key)

    async def lock_of(self, key: str) -> ObjectLock:
        validate_key(key)
        return await self._run(self._lock_of_sync, key)

    async def presigned_get_url(self, key: str, expires: timedelta) -> str:
        validate_key(key)
        expires_at = int(time.time() + expires.total_seconds())
        signature = sign_object_url(key, expires_at, self._signing_key)
        return f"{self._base_url}/api/v1/objects/{key}?expires={expires_at}&signature={signature}"

    # -- blocking halves, run in a worker thread -------------------------------------------------

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        return await asyncio.to_thread(self._guarded, func, *args)

    def _guarded(self, func: Callable[..., _T], *args: object) -> _T:
        """Call ``func`` and map OSError to the storage errors, once, here."""
        try:
            return func(*args)
        except OSError as err:
            raise self._map_os_error(err) from err

    def _map_os_error(self, err: OSError) -> StorageError:
        if not self._root.is_dir():
            return self._root_missing()
        reason = _UNAVAILABLE_ERRNOS.get(err.errno or 0)
        if reason is not None:
            return StorageUnavailable(f"local storage at {self._root}: {reason} ({err})")
        if err.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST):
            return StorageError(f"key conflicts with an existing object or folder in {self._root}: {err}")
        return StorageError(f"local storage at {self._root} failed: {err}")

    def _root_missing(self) -> StorageUnavailable:
        return StorageUnavailable(f"local storage root {self._root} is missing (deleted or unmounted?)")

    def _start_sync(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        self._meta.mkdir(exist_ok=True)
        self._locks.mkdir(exist_ok=True)

    def _ping_sync(self) -> None:
        if not self._root.is_dir():
            raise self._root_missing()
        if not os.access(self._root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"local storage root {self._root} is not writable")

    def _sidecar(self, key: str) -> Path:
        return self._meta / f"{key}.json"

    def _lock_record(self, key: str) -> Path:
        return self._locks / f"{key}.json"

    def _make_parents(self, relative: str) -> None:
        """Create the folders of ``relative`` one by one, never re-creating a vanished root."""
        if not self._root.is_dir():
            raise self._root_missing()
        folder = self._root
        for part in relative.split("/")[:-1]:
            folder = folder / part
            if not folder.is_dir():
                folder.mkdir(exist_ok=True)  # FileNotFoundError if the root vanished meanwhile

    def _put_sync(self, key: str, data: bytes | Path, content_type: str, meta: dict[str, str]) -> ObjectInfo:
        if isinstance(data, Path) and not data.is_file():
            raise ValueError(f"cannot store {key!r}: source file {data} does not exist")
        held = self._held_lock(key)
        if held is not None:
            if self._same_bytes(key, data):
                return self._stat_sync(key)  # a retried upload of the locked object: nothing to do
            raise locked_error(key, held, self._clock(), "overwrite it with other bytes")
        if not (self._root / key).is_file():
            self._lock_record(key).unlink(missing_ok=True)  # a stale record must not lock a new object
        self._make_parents(key)
        self._make_parents(f"{_META_DIR}/{key}")
        digest = hashlib.sha256()
        if isinstance(data, bytes):
            digest.update(data)
            size = _atomic_write(self._root / key, lambda out: out.write(data))
        else:
            size = _atomic_write(self._root / key, lambda out: _copy_hashing(data, out, digest))
        sidecar = {"content_type": content_type, "metadata": meta, "size": size, "sha256": digest.hexdigest()}
        body = json.dumps(sidecar, sort_keys=True).encode()
        _atomic_write(self._sidecar(key), lambda out: out.write(body))
        return self._stat_sync(key)

    def _get_sync(self, key: str) -> bytes:
        try:
            return (self._root / key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as err:
            raise self._not_found(key) from err

    def _stat_sync(self, key: str) -> ObjectInfo:
        path = self._root / key
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError) as err:
            raise self._not_found(key) from err
        if not path.is_file():
            raise self._not_found(key)
        try:
            sidecar = json.loads(self._sidecar(key).read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            sidecar = {}
        if sidecar.get("size") != st.st_size:
            # No sidecar, or one left from an older version by a crash between the two renames.
            sidecar = {}
        return ObjectInfo(
            key=key,
            size=st.st_size,
            content_type=str(sidecar.get("content_type", _DEFAULT_TYPE)),
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
            etag=str(sidecar.get("sha256", "")),
            metadata=dict(sidecar.get("metadata", {})),
        )

    def _list_sync(self, prefix: str) -> builtins.list[ObjectInfo]:
        if not self._root.is_dir():
            raise self._root_missing()
        # Walk only the deepest folder the prefix names, then filter by the full prefix.
        start = self._root.joinpath(*prefix.split("/")[:-1]) if "/" in prefix else self._root
        infos = []
        for key in _walk_keys(self._root, start):
            if key.startswith(prefix):
                try:
                    infos.append(self._stat_sync(key))
                except ObjectNotFound:
                    continue  # deleted while we listed
        return sorted(infos, key=lambda info: info.key)

    def _delete_sync(self, key: str) -> None:
        if not self._root.is_dir():
            raise self._root_missing()
        held = self._held_lock(key)
        if held is not None:
            raise locked_error(key, held, self._clock(), "delete it")
        # The lock record goes last: a crash before it leaves a stale record, which counts for
        # nothing without its object (see _held_lock).
        for path in (self._root / key, self._sidecar(key), self._lock_record(key)):
            try:
                path.unlink()
            except (FileNotFoundError, NotADirectoryError):
                pass
            except IsADirectoryError as err:
                raise self._not_found(key) from err

    def _read_lock(self, key: str) -> ObjectLock:
        """The lock record of ``key``; none is ``ObjectLock()``. An unreadable one counts as a
        legal hold: a lock is never dropped because its record was damaged."""
        try:
            raw = json.loads(self._lock_record(key).read_bytes())
            until = raw.get("retain_until")
            return ObjectLock(
                mode=LockMode(raw["mode"]) if raw.get("mode") else None,
                retain_until=datetime.fromisoformat(until) if until else None,
                legal_hold=bool(raw.get("legal_hold", False)),
            )
        except (FileNotFoundError, NotADirectoryError):
            return ObjectLock()
        except (ValueError, KeyError, TypeError, AttributeError):
            return ObjectLock(legal_hold=True)

    def _write_lock(self, key: str, lock: ObjectLock) -> None:
        if lock == ObjectLock():
            self._lock_record(key).unlink(missing_ok=True)
            return
        self._make_parents(f"{_LOCK_DIR}/{key}")
        body = json.dumps(
            {
                "mode": lock.mode.value if lock.mode else None,
                "retain_until": lock.retain_until.isoformat() if lock.retain_until else None,
                "legal_hold": lock.legal_hold,
            },
            sort_keys=True,
        ).encode()
        _atomic_write(self._lock_record(key), lambda out: out.write(body))

    def _held_lock(self, key: str) -> ObjectLock | None:
        """The lock of an existing object that holds now, else None (a stale record of a deleted
        object holds nothing)."""
        if not (self._root / key).is_file():
            return None
        lock = self._read_lock(key)
        return lock if lock.held(self._clock()) else None

    def _same_bytes(self, key: str, data: bytes | Path) -> bool:
        try:
            stored = json.loads(self._sidecar(key).read_bytes()).get("sha256")
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return False
        digest = hashlib.sha256()
        if isinstance(data, bytes):
            digest.update(data)
        else:
            with data.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
        return bool(stored) and digest.hexdigest() == stored

    def _lock_sync(self, key: str, lock: ObjectLock) -> None:
        self._stat_sync(key)  # ObjectNotFound
        now = self._clock()
        current = self._read_lock(key)
        check_relock(key, current, lock, now)
        legal_hold = current.legal_hold or lock.legal_hold
        if lock.mode is not None and lock.retain_until is not None:
            updated = ObjectLock(lock.mode, whole_second(lock.retain_until), legal_hold)
        elif current.retained(now):
            updated = ObjectLock(current.mode, current.retain_until, legal_hold)
        else:
            updated = ObjectLock(legal_hold=legal_hold)
        self._write_lock(key, updated)

    def _unlock_sync(self, key: str) -> None:
        self._stat_sync(key)
        now = self._clock()
        current = self._read_lock(key)
        check_unlock(key, current, now)
        self._write_lock(key, ObjectLock())

    def _lock_of_sync(self, key: str) -> ObjectLock:
        self._stat_sync(key)
        return self._read_lock(key)

    def _not_found(self, key: str) -> StorageError:
        if not self._root.is_dir():
            return self._root_missing()
        return ObjectNotFound(f"no object under key {key!r} in {self._root}")


def _walk_keys(root: Path, start: Path) -> Iterator[str]:
    """Every object key under ``start``, skipping the sidecar folder and temp files."""
    for folder, dirs, files in os.walk(start):
        dirs[:] = [d for d in dirs if "~" not in d]
        for name in files:
            if "~" not in name:
                yield Path(folder, name).relative_to(root).as_posix()


def _copy_hashing(source: Path, out: IO[bytes], digest: hashlib._Hash) -> None:
    with source.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)


def _atomic_write(target: Path, write: Callable[[IO[bytes]], object]) -> int:
    """Write via a temp file in the same folder, fsync, then rename over ``target``; return the size.

    A reader sees the old object or the new one, never half of one; on failure the temp file goes.
    """
    temp = target.with_name(f"{target.name}~{secrets.token_hex(6)}.tmp")
    try:
        with temp.open("xb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return size
