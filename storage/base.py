"""The object-store contract shared by the local-directory and S3 backends.

Keys are ``/``-separated relative paths (``clips/cam-1/2026/12/04/<event>.mp4``); a key never starts
with ``/`` and never contains ``..``. All methods are coroutines; backends run blocking I/O in
threads. Every backend must pass ``tests/storage/test_contract.py``.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from storage.errors import InvalidKey

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

    @abc.abstractmethod
    async def put(
        self,
        key: str,
        data: bytes | Path,
        *,
        content_type: str,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` (bytes, or a file to upload) under ``key``, replacing any older object."""

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
        """Remove the object; deleting a missing key is not an error."""

    @abc.abstractmethod
    async def presigned_get_url(self, key: str, expires: timedelta) -> str:
        """A URL that lets anyone holding it GET the object until ``expires`` from now."""
