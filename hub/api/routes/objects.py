"""Downloads behind the local backend's presigned URLs (S3 serves its own)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from hub.api.deps import PartsDep
from hub.api.problems import Problem
from storage.errors import InvalidKey, ObjectNotFound, StorageError
from storage.local import LocalObjectStore
from storage.presign import PresignError

router = APIRouter(prefix="/objects", tags=["media"])


@router.get(
    "/{key:path}",
    summary="Download an object by presigned URL (local storage backend)",
    response_class=FileResponse,
    responses={403: {"description": "Bad or expired signature"}, 404: {"description": "No such object"}},
)
async def get_object(
    key: str,
    parts: PartsDep,
    expires: Annotated[int, Query(description="Unix time the link expires")],
    signature: Annotated[str, Query(min_length=1, max_length=128)],
) -> FileResponse:
    store = parts.store
    if not isinstance(store, LocalObjectStore):
        raise Problem(404, "Not found", "this hub stores media in S3; use the links the API issues")
    try:
        store.verify_url(key, expires, signature, now=time.time())
    except PresignError as err:
        raise Problem(403, "Forbidden", str(err)) from err
    try:
        info = await store.stat(key)
    except (ObjectNotFound, InvalidKey) as err:
        raise Problem(404, "No such object", str(err)) from err
    except StorageError as err:
        raise Problem(503, "Object store unavailable", str(err), headers={"Retry-After": "10"}) from err
    return FileResponse(store.path_of(key), media_type=info.content_type)
