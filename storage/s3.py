"""The S3 backend (SeaweedFS, MinIO, AWS) on the ``minio`` SDK.

The SDK blocks, so every call runs in a worker thread. Its default HTTP pool waits five minutes and
retries five times; ours gives up within a few seconds, so an outage surfaces as
:class:`StorageUnavailable` quickly and the hub can buffer clips locally instead of hanging.

Object Lock: with ``object_lock=True`` a new bucket is created with S3 Object Lock (which also
turns versioning on); S3 cannot add it to an existing bucket. A bucket with Object Lock keeps
versions, so :meth:`S3ObjectStore.delete` removes every version of the key (and its delete
markers) rather than leaving a delete marker over bytes that would stay forever, and a put over a
locked object is refused unless it carries the same bytes (same ETag), as a retried upload does.

SeaweedFS (4.48) resets an object's Content-Type to application/octet-stream when a retention or
legal hold is set on it; user metadata survives. So in a bucket with Object Lock the content type
is also kept as user metadata (``x-amz-meta-hub-content-type``, hidden from ``ObjectInfo``) and
presigned URLs there ask for it back with ``response-content-type``.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.datatypes import Object
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import DictType, get_part_info, md5sum_hash
from minio.retention import Retention
from minio.xml import marshal

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
from storage.errors import LockUnsupported, ObjectLocked, ObjectNotFound, StorageError, StorageUnavailable

log = logging.getLogger(__name__)

_T = TypeVar("_T")
PART_SIZE = 16 * 1024 * 1024
_META_PREFIX = "x-amz-meta-"
_LOCK_MODE = "x-amz-object-lock-mode"
_LOCK_UNTIL = "x-amz-object-lock-retain-until-date"
_LOCK_HOLD = "x-amz-object-lock-legal-hold"
_S3_MODES = {LockMode.GOVERNANCE: GOVERNANCE, LockMode.COMPLIANCE: COMPLIANCE}
_TYPE_META = "hub-content-type"  # the content type again, as user metadata (see the module doc)

# Transport failures: the server is down, unreachable or too slow. Retry later.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    urllib3.exceptions.MaxRetryError,  # our few retries are spent (wraps refused/reset/timeout)
    urllib3.exceptions.NewConnectionError,  # connection refused or DNS failure, retries disabled
    urllib3.exceptions.ProtocolError,  # connection dropped mid-request or mid-body
    urllib3.exceptions.TimeoutError,  # connect or read timeout of our short pool
    ConnectionError,  # socket-level reset surfacing outside urllib3
    OSError,  # any other socket error (TimeoutError is one)
)
# Everything the SDK raises for a request it could send: answered, but with an error.
SDK_ERRORS: tuple[type[Exception], ...] = (
    S3Error,  # an S3 XML error body: NoSuchKey, AccessDenied, SlowDown, ...
    ServerError,  # an HTTP 5xx without an S3 error body
    InvalidResponseError,  # a non-XML answer, e.g. from a proxy in front of the store
)
CAUGHT_ERRORS: tuple[type[Exception], ...] = SDK_ERRORS + TRANSPORT_ERRORS

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchObject"})
_RETRY_LATER_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})
_AUTH_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"})
# Answers to GetObjectLockConfiguration from a bucket without Object Lock: AWS and MinIO say
# ObjectLockConfigurationNotFoundError (SeaweedFS too), older servers NoSuchObjectLockConfiguration,
# servers without the feature NotImplemented.
_NO_LOCK_CODES = frozenset(
    {"ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration", "NotImplemented"}
)


def map_s3_error(err: Exception, *, where: str) -> StorageError:
    """The hub's error for an SDK or transport failure; ``where`` names the bucket and key."""
    if isinstance(err, S3Error):
        if err.code in _NOT_FOUND_CODES:
            return ObjectNotFound(f"no object at {where}")
        status = err.response.status if err.response is not None else 0
        if err.code in _RETRY_LATER_CODES or status >= 500:
            return StorageUnavailable(f"S3 at {where} asks to retry later: {err.code}: {err.message}")
        if err.code in _AUTH_CODES:
            return StorageError(f"S3 at {where} refused the credentials: {err.code}: {err.message}")
        return StorageError(f"S3 at {where} failed: {err.code}: {err.message}")
    if isinstance(err, ServerError):
        return StorageUnavailable(f"S3 at {where} answered HTTP {err.status_code}")
    if isinstance(err, InvalidResponseError):
        return StorageError(f"S3 at {where} gave an unexpected answer: {err}")
    if isinstance(err, TRANSPORT_ERRORS):
        return StorageUnavailable(f"S3 at {where} is unreachable: {type(err).__name__}: {err}")
    return StorageError(f"S3 at {where} failed: {err!r}")


class S3ObjectStore(ObjectStore):
    """Objects in one S3 bucket; metadata as ``x-amz-meta-*`` headers (keys come back lower-case)."""

    backend = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        timeout_s: float = 5.0,
        object_lock: bool = False,
    ) -> None:
        self._endpoint = endpoint
        self._bucket = bucket
        self._want_lock = object_lock
        self._locking: bool | None = None  # whether the bucket has Object Lock; asked once
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
            retries=urllib3.Retry(total=1, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=self._http,
        )

    @property
    def bucket(self) -> str:
        return self._bucket

    async def start(self) -> None:
        await self._run(self._start_sync)

    async def close(self) -> None:
        self._http.clear()

    async def ping(self) -> None:
        if not await self._run(self._client.bucket_exists, self._bucket):
            raise StorageUnavailable(f"S3 bucket {self._bucket!r} at {self._endpoint} does not exist")

    @property
    def supports_lock(self) -> bool:
        """True once the bucket is known to have Object Lock (after :meth:`start` or a lock call)."""
        return bool(self._locking)

    async def put(
        self,
        key: str,
        data: bytes | Path,
        *,
        content_type: str,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        validate_key(key)
        # Always send the real type: SeaweedFS replaces application/octet-stream with a guess
        # from the key's extension.
        meta: DictType = {k.lower(): v for k, v in (metadata or {}).items()}
        return await self._run(self._put_sync, key, data, content_type, meta, key=key)

    async def get(self, key: str) -> bytes:
        validate_key(key)
        return await self._run(self._get_sync, key, key=key)

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        return await self._run(self._stat_sync, key, key=key)

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        if prefix:
            validate_key(prefix.rstrip("/"))
        return await self._run(self._list_sync, prefix)

    async def delete(self, key: str) -> None:
        validate_key(key)
        await self._run(self._delete_sync, key, key=key)

    async def lock(self, key: str, lock: ObjectLock) -> None:
        validate_key(key)
        await self._run(self._lock_sync, key, lock, key=key)

    async def unlock(self, key: str) -> None:
        validate_key(key)
        await self._run(self._unlock_sync, key, key=key)

    async def lock_of(self, key: str) -> ObjectLock:
        validate_key(key)
        return await self._run(self._lock_of_sync, key, key=key)

    async def presigned_get_url(self, key: str, expires: timedelta) -> str:
        validate_key(key)
        return await self._run(self._presign_sync, key, expires, key=key)

    # -- blocking halves, run in a worker thread -------------------------------------------------

    async def _run(self, func: Callable[..., _T], *args: object, key: str = "") -> _T:
        where = f"{self._endpoint}/{self._bucket}/{key}" if key else f"{self._endpoint}/{self._bucket}"
        try:
            return await asyncio.to_thread(func, *args)
        except CAUGHT_ERRORS as err:
            raise map_s3_error(err, where=where) from err

    def _start_sync(self) -> None:
        if not self._client.bucket_exists(self._bucket):
            try:
                self._client.make_bucket(self._bucket, object_lock=self._want_lock)
            except S3Error as err:
                # Another hub process may have created it between our two calls: that is fine.
                if err.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        self._locking = self._probe_locking()
        if self._want_lock and not self._locking:
            log.error(
                "storage: S3 bucket %r at %s has no Object Lock (S3 turns it on only when a bucket "
                "is created): events marked keep are kept but not locked; point storage.s3.bucket "
                "at a new bucket to lock them",
                self._bucket,
                self._endpoint,
            )

    def _probe_locking(self) -> bool:
        try:
            self._client.get_object_lock_config(self._bucket)
        except S3Error as err:
            if err.code in _NO_LOCK_CODES:
                return False
            raise
        return True

    def _bucket_locks(self) -> bool:
        if self._locking is None:
            self._locking = self._probe_locking()
        return self._locking

    def _require_locking(self) -> None:
        if not self._bucket_locks():
            raise LockUnsupported(
                f"S3 bucket {self._bucket!r} at {self._endpoint} has no Object Lock; it can only be "
                "turned on when a bucket is created (storage.object_lock.enabled with a new bucket)"
            )

    def _stat_or_none(self, key: str) -> Object | None:
        try:
            return self._client.stat_object(self._bucket, key)
        except S3Error as err:
            if err.code in _NOT_FOUND_CODES:
                return None
            raise

    def _delete_sync(self, key: str) -> None:
        if not self._bucket_locks():
            self._client.remove_object(self._bucket, key)
            return
        current = self._stat_or_none(key)
        now = datetime.now(UTC)
        if current is not None:
            lock = _lock_of(current)
            if lock.held(now):
                raise locked_error(key, lock, now, "delete it")
        versions = [
            DeleteObject(key, item.version_id)
            for item in self._client.list_objects(
                self._bucket, prefix=key, recursive=True, include_version=True
            )
            if item.object_name == key
        ]
        if not versions:
            return
        failed = list(self._client.remove_objects(self._bucket, versions))
        if any(error.code == "AccessDenied" for error in failed):
            # The current version was free, so an older one (an earlier upload) is locked.
            raise ObjectLocked(
                f"an older version of object {key!r} is locked: cannot delete it", key=key, until=None
            )
        if failed:
            raise StorageError(f"S3 could not delete {key!r}: {failed[0].code}: {failed[0].message}")

    def _lock_sync(self, key: str, lock: ObjectLock) -> None:
        self._require_locking()
        obj = self._client.stat_object(self._bucket, key)
        now = datetime.now(UTC)
        current = _lock_of(obj)
        check_relock(key, current, lock, now)
        if lock.mode is not None and lock.retain_until is not None:
            until = whole_second(lock.retain_until)
            if (current.mode, current.retain_until) != (lock.mode, until):
                retention = Retention(_S3_MODES[lock.mode], until)
                self._client.set_object_retention(self._bucket, key, retention, version_id=obj.version_id)
        if lock.legal_hold and not current.legal_hold:
            self._client.enable_object_legal_hold(self._bucket, key, version_id=obj.version_id)

    def _unlock_sync(self, key: str) -> None:
        self._require_locking()
        obj = self._client.stat_object(self._bucket, key)
        now = datetime.now(UTC)
        current = _lock_of(obj)
        check_unlock(key, current, now)
        if current.legal_hold:
            self._client.disable_object_legal_hold(self._bucket, key, version_id=obj.version_id)
        soon = whole_second(now) + timedelta(seconds=1)
        if (
            current.mode is LockMode.GOVERNANCE
            and current.retain_until is not None
            and current.retain_until > soon
        ):
            self._shorten_governance(key, obj.version_id, soon)

    def _shorten_governance(self, key: str, version_id: str | None, until: datetime) -> None:
        """S3 has no call to remove a retention; a governance one may be cut short by whoever
        may bypass it. The SDK's set_object_retention cannot send the bypass header, so send the
        same request ourselves."""
        body = marshal(Retention(GOVERNANCE, until))
        query: DictType = {"retention": ""}
        if version_id:
            query["versionId"] = version_id
        headers: DictType = {
            "Content-MD5": md5sum_hash(body) or "",
            "x-amz-bypass-governance-retention": "true",
        }
        self._client._execute("PUT", self._bucket, key, body=body, headers=headers, query_params=query)

    def _presign_sync(self, key: str, expires: timedelta) -> str:
        headers: DictType | None = None
        current = self._stat_or_none(key) if self._bucket_locks() else None
        if current is not None:  # the store may have lost the type when the object was locked
            headers = {"response-content-type": _object_info(key, current).content_type}
        url: str = self._client.presigned_get_object(self._bucket, key, expires, response_headers=headers)
        return url

    def _lock_of_sync(self, key: str) -> ObjectLock:
        return _lock_of(self._client.stat_object(self._bucket, key))

    def _put_sync(self, key: str, data: bytes | Path, content_type: str, meta: DictType) -> ObjectInfo:
        if isinstance(data, Path) and not data.is_file():
            raise ValueError(f"cannot store {key!r}: source file {data} does not exist")
        if self._bucket_locks():
            current = self._stat_or_none(key)
            now = datetime.now(UTC)
            if current is not None and _lock_of(current).held(now):
                if current.etag == content_etag(data):
                    return _object_info(key, current)  # a retried upload of the locked object
                raise locked_error(key, _lock_of(current), now, "overwrite it with other bytes")
            meta = {**meta, _TYPE_META: content_type}
        if isinstance(data, bytes):
            self._client.put_object(
                self._bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata=meta
            )
        else:
            self._client.fput_object(
                self._bucket, key, str(data), content_type=content_type, metadata=meta, part_size=PART_SIZE
            )
        return self._stat_sync(key)

    def _get_sync(self, key: str) -> bytes:
        response = self._client.get_object(self._bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def _stat_sync(self, key: str) -> ObjectInfo:
        return _object_info(key, self._client.stat_object(self._bucket, key))

    def _list_sync(self, prefix: str) -> builtins.list[ObjectInfo]:
        # A listing carries neither content type nor user metadata, so stat each object.
        infos = []
        for item in self._client.list_objects(self._bucket, prefix=prefix or None, recursive=True):
            if item.object_name is None or item.is_dir:
                continue
            try:
                infos.append(self._stat_sync(item.object_name))
            except S3Error as err:
                if err.code not in _NOT_FOUND_CODES:
                    raise  # a NoSuchKey here means it was deleted while we listed
        return sorted(infos, key=lambda info: info.key)


def content_etag(data: bytes | Path) -> str:
    """The ETag S3 gives ``data`` as :meth:`S3ObjectStore.put` uploads it: the MD5 of a single
    part, or for a multipart upload the MD5 of the parts' MD5s and ``-<parts>``. (Servers that
    encrypt with KMS give other ETags; a locked object there is never taken as the same bytes.)"""
    size = len(data) if isinstance(data, bytes) else data.stat().st_size
    part_size, parts = get_part_info(size, 0 if isinstance(data, bytes) else PART_SIZE)
    digests = []
    source = io.BytesIO(data) if isinstance(data, bytes) else data.open("rb")
    with source:
        for _ in range(max(parts, 1)):
            digest = hashlib.md5(usedforsecurity=False)
            remaining = part_size
            while remaining > 0 and (chunk := source.read(min(remaining, 1024 * 1024))):
                digest.update(chunk)
                remaining -= len(chunk)
            digests.append(digest)
    if parts <= 1:
        return digests[0].hexdigest()
    combined = hashlib.md5(b"".join(d.digest() for d in digests), usedforsecurity=False)
    return f"{combined.hexdigest()}-{parts}"


def _lock_of(obj: Object) -> ObjectLock:
    """The lock an object's HEAD answer shows in its ``x-amz-object-lock-*`` headers."""
    headers = {str(name).lower(): str(value) for name, value in (obj.metadata or {}).items()}
    mode, until = headers.get(_LOCK_MODE), headers.get(_LOCK_UNTIL)
    retention = (
        (LockMode(mode.lower()), datetime.fromisoformat(until).astimezone(UTC)) if mode and until else None
    )
    return ObjectLock(
        mode=retention[0] if retention else None,
        retain_until=retention[1] if retention else None,
        legal_hold=headers.get(_LOCK_HOLD, "OFF").upper() == "ON",
    )


def _object_info(key: str, obj: Object) -> ObjectInfo:
    metadata = {
        name.lower().removeprefix(_META_PREFIX): str(value)
        for name, value in (obj.metadata or {}).items()
        if name.lower().startswith(_META_PREFIX)
    }
    content_type = metadata.pop(_TYPE_META, None) or obj.content_type
    modified = obj.last_modified or datetime.now(UTC)
    return ObjectInfo(
        key=key,
        size=obj.size or 0,
        content_type=content_type or "application/octet-stream",
        last_modified=modified.astimezone(UTC),
        etag=obj.etag or "",
        metadata=metadata,
    )
