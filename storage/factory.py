"""Build the configured object store."""

from __future__ import annotations

from hub.config.storage import StorageBackend, StorageSettings
from storage.base import ObjectStore
from storage.local import LocalObjectStore
from storage.s3 import S3ObjectStore


def create_store(settings: StorageSettings, *, signing_key: bytes, public_url: str) -> ObjectStore:
    if settings.backend is StorageBackend.S3:
        s3 = settings.s3
        return S3ObjectStore(
            endpoint=s3.endpoint,
            access_key=s3.access_key,
            secret_key=s3.secret_key.get_secret_value(),
            bucket=s3.bucket,
            secure=s3.secure,
            region=s3.region,
            object_lock=settings.object_lock.enabled,
        )
    assert settings.local_path is not None  # filled in by HubSettings
    return LocalObjectStore(settings.local_path, signing_key=signing_key, base_url=public_url.rstrip("/"))
