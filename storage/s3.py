"""The S3 backend (SeaweedFS, MinIO, AWS) on the ``minio`` SDK.

The SDK blocks, so every call runs in a worker thread. Its default HTTP pool waits five minutes and
retries five times; ours gives up within a few seconds, so an outage surfaces as
:class:`StorageUnavailable` quickly and the hub can buffer clips locally instead of hanging.
"""

from __future__ import annotations

import asyncio
import builtins
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import DictType

from storage.base import ObjectInfo, ObjectStore, validate_key
from storage.errors import ObjectNotFound, StorageError, StorageUnavailable

_T = TypeVar("_T")
PART_SIZE = 16 * 1024 * 1024
_META_PREFIX = "x-amz-meta-"

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
    ) -> None:
        self._endpoint = endpoint
        self._bucket = bucket
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
        await self._run(self._client.remove_object, self._bucket, key, key=key)

    async def presigned_get_url(self, key: str, expires: timedelta) -> str:
        validate_key(key)
        return await self._run(self._client.presigned_get_object, self._bucket, key, expires, key=key)

    # -- blocking halves, run in a worker thread -------------------------------------------------

    async def _run(self, func: Callable[..., _T], *args: object, key: str = "") -> _T:
        where = f"{self._endpoint}/{self._bucket}/{key}" if key else f"{self._endpoint}/{self._bucket}"
        try:
            return await asyncio.to_thread(func, *args)
        except CAUGHT_ERRORS as err:
            raise map_s3_error(err, where=where) from err

    def _start_sync(self) -> None:
        if self._client.bucket_exists(self._bucket):
            return
        try:
            self._client.make_bucket(self._bucket)
        except S3Error as err:
            # Another hub process may have created it between our two calls: that is fine.
            if err.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def _put_sync(self, key: str, data: bytes | Path, content_type: str, meta: DictType) -> ObjectInfo:
        if isinstance(data, bytes):
            self._client.put_object(
                self._bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata=meta
            )
        else:
            if not data.is_file():
                raise ValueError(f"cannot store {key!r}: source file {data} does not exist")
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


def _object_info(key: str, obj: Object) -> ObjectInfo:
    metadata = {
        name.lower().removeprefix(_META_PREFIX): str(value)
        for name, value in (obj.metadata or {}).items()
        if name.lower().startswith(_META_PREFIX)
    }
    modified = obj.last_modified or datetime.now(UTC)
    return ObjectInfo(
        key=key,
        size=obj.size or 0,
        content_type=obj.content_type or "application/octet-stream",
        last_modified=modified.astimezone(UTC),
        etag=obj.etag or "",
        metadata=metadata,
    )
