"""Storage errors. Backends map their library's exceptions to these, once, at their boundary.

StorageError
├── InvalidKey            the key is unsafe or malformed (caller's bug: do not retry)
├── ObjectNotFound        no object under that key
├── ObjectLocked          the object is under a retention or a legal hold (WORM): it cannot be
│                         deleted, overwritten with other bytes or unlocked now
├── LockUnsupported       this store cannot lock objects (an S3 bucket created without object lock)
└── StorageUnavailable    the store is down, full or unreachable (retry later)
"""

from __future__ import annotations

from datetime import datetime


class StorageError(Exception):
    """Base of every storage failure."""


class InvalidKey(StorageError, ValueError):
    """The object key is not allowed."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class ObjectLocked(StorageError):
    """The object is locked; ``until`` is when its retention runs out (None: a legal hold, which
    lasts until it is lifted). Retrying before then gets the same answer."""

    def __init__(self, message: str, *, key: str, until: datetime | None) -> None:
        super().__init__(message)
        self.key = key
        self.until = until


class LockUnsupported(StorageError):
    """The store cannot lock objects; a retry will not help until the operator changes it."""


class StorageUnavailable(StorageError):
    """The store cannot be used right now; the operation may succeed later."""
