"""The object-store contract shared by the local-directory and S3 backends.

Keys are ``/``-separated relative paths (``clips/cam-1/2026/12/04/<event>.mp4``); a key never starts
with ``/`` and never contains ``..``. All methods are coroutines; backends run blocking I/O in
threads. Every backend must pass ``tests/storage/test_contract.py``.

Objects can be locked (write once, read many): a *retention* (``governance``: the hub may lift it
early; ``compliance``: nobody can, until its date) and a *legal hold* (no date; lasts until lifted).
While either holds, :meth:`ObjectStore.delete` and overwriting with other bytes raise
:class:`storage.errors.ObjectLocked`. The local backend keeps the lock in a record beside the
object and enforces it itself; S3 uses the bucket's Object Lock.
"""

from __future__ import annotations

import abc
import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from storage.errors import InvalidKey, ObjectLocked

_KEY_PART = re.compile(r"^[A-Za-z0-9._=+-]+$")
MAX_KEY_LENGTH = 512


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise :class:`InvalidKey` saying why."""
    if not key:
        raise InvalidKey("object key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"object key is longer than {MAX_KEY_LENGTH} characters")
    parts = key.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidKey(f"object key {key!r} has an empty, '.' or '..' segment")
        if not _KEY_PART.match(part):
            raise InvalidKey(f"object key {key!r} has characters outside [A-Za-z0-9._=+-] in {part!r}")
    return key


class LockMode(enum.StrEnum):
    """The two S3 Object Lock retention modes."""

    GOVERNANCE = "governance"  # may be lifted early by whoever is allowed to bypass it (the hub)
    COMPLIANCE = "compliance"  # nobody can shorten or lift it before its date


def whole_second(at: datetime) -> datetime:
    """``at`` rounded up to a whole second: S3 keeps retention dates to the second, and rounding
    up never shortens a promised retention."""
    if at.microsecond == 0:
        return at
    return at.replace(microsecond=0) + timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class ObjectLock:
    """An object's lock: a retention (``mode`` and ``retain_until`` together) and/or a legal hold."""

    mode: LockMode | None = None
    retain_until: datetime | None = None  # timezone-aware UTC, whole seconds
    legal_hold: bool = False

    def __post_init__(self) -> None:
        if (self.mode is None) != (self.retain_until is None):
            raise ValueError("a retention needs both a mode and a retain-until date")
        if self.retain_until is not None and self.retain_until.tzinfo is None:
            raise ValueError("retain_until must be timezone-aware")

    def retained(self, now: datetime) -> bool:
        """Whether the retention is still running at ``now``."""
        return self.retain_until is not None and now < self.retain_until

    def held(self, now: datetime) -> bool:
        """Whether the object may not be deleted or changed at ``now``."""
        return self.legal_hold or self.retained(now)

    def describe(self, now: datetime) -> str:
        parts = []
        if self.retained(now):
            assert self.retain_until is not None and self.mode is not None
            parts.append(f"{self.mode} retention until {self.retain_until:%Y-%m-%dT%H:%M:%SZ}")
        if self.legal_hold:
            parts.append("a legal hold")
        return " and ".join(parts) or "no lock"


def locked_error(key: str, lock: ObjectLock, now: datetime, action: str) -> ObjectLocked:
    """The error for ``action`` (e.g. "delete it") refused because ``lock`` holds ``key``."""
    until = None if lock.legal_hold or not lock.retained(now) else lock.retain_until
    message = f"object {key!r} is locked ({lock.describe(now)}): cannot {action}"
    return ObjectLocked(message, key=key, until=until)


def check_relock(key: str, current: ObjectLock, new: ObjectLock, now: datetime) -> None:
    """Raise unless ``new`` may be applied over ``current``: a running retention may be extended,
    never shortened nor switched to another mode (S3 refuses both without a bypass)."""
    if new.retain_until is not None and new.retain_until <= now:
        raise ValueError(f"retention date {new.retain_until.isoformat()} for {key!r} is not in the future")
    if new.mode is None or not current.retained(now):
        return
    assert current.retain_until is not None and new.retain_until is not None
    if new.mode is not current.mode:
        raise locked_error(key, current, now, f"switch it to a {new.mode} retention")
    if new.retain_until < current.retain_until:
        raise locked_error(key, current, now, f"shorten it to {new.retain_until:%Y-%m-%dT%H:%M:%SZ}")


def check_unlock(key: str, current: ObjectLock, now: datetime) -> None:
    """Raise if ``current`` cannot be lifted at ``now``: a running compliance retention."""
    if current.mode is LockMode.COMPLIANCE and current.retained(now):
        raise locked_error(key, ObjectLock(current.mode, current.retain_until), now, "lift it before then")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    last_modified: datetime  # timezone-aware UTC
    etag: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class ObjectStore(abc.ABC):
    """Clips, snapshots and thumbnails live here."""

    backend: str = "abstract"

    @abc.abstractmethod
    async def start(self) -> None:
        """Prepare the store (create the directory or bucket). Raises StorageUnavailable."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise :class:`storage.errors.StorageUnavailable` unless the store answers now."""

    @property
    @abc.abstractmethod
    def supports_lock(self) -> bool:
        """Whether :meth:`lock` can work here (an S3 bucket needs Object Lock from its creation)."""

    @abc.abstractmethod
    async def put(
        self,
        key: str,
        data: bytes | Path,
        *,
        content_type: str,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` (bytes, or a file to upload) under ``key``, replacing any older object.

        A locked object is never replaced: putting the same bytes again (a retried upload) returns
        the stored object unchanged, other bytes raise :class:`storage.errors.ObjectLocked`.
        """

    @abc.abstractmethod
    async def get(self, key: str) -> bytes:
        """The object's bytes. Raises :class:`storage.errors.ObjectNotFound`."""

    @abc.abstractmethod
    async def stat(self, key: str) -> ObjectInfo:
        """The object's size, type and metadata. Raises ObjectNotFound."""

    @abc.abstractmethod
    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, sorted by key."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object (every version of it, where the store keeps versions); deleting a
        missing key is not an error. Raises :class:`storage.errors.ObjectLocked` while it is held."""

    @abc.abstractmethod
    async def lock(self, key: str, lock: ObjectLock) -> None:
        """Apply ``lock``'s retention (if any) and turn its legal hold on (if set); an existing
        legal hold stays. See :func:`check_relock` for what may change. Raises ObjectNotFound,
        ObjectLocked, :class:`storage.errors.LockUnsupported`, and ValueError for a past date.
        The object's ``last_modified`` may move (SeaweedFS rewrites the entry); nothing else does."""

    @abc.abstractmethod
    async def unlock(self, key: str) -> None:
        """Lift the legal hold and a governance retention (S3 cannot remove one, so it is cut to
        lapse within a second). A compliance retention that still runs raises ObjectLocked and
        nothing changes. Raises ObjectNotFound and LockUnsupported as :meth:`lock` does."""

    @abc.abstractmethod
    async def lock_of(self, key: str) -> ObjectLock:
        """The object's current lock (``ObjectLock()`` when none). Raises ObjectNotFound."""

    @abc.abstractmethod
    async def presigned_get_url(self, key: str, expires: timedelta) -> str:
        """A URL that lets anyone holding it GET the object until ``expires`` from now."""
