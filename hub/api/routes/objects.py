"""Downloads behind the local backend's presigned URLs (S3 serves its own)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from hub.api.deps import PartsDep
from hub.api.problems import Problem
from hub.api.schemas import OBJECT_KEY_EXAMPLE, SIGNATURE_EXAMPLE, problem_doc, problem_example
from storage.errors import InvalidKey, ObjectNotFound, StorageError
from storage.local import LocalObjectStore
from storage.presign import PresignError

router = APIRouter(prefix="/objects", tags=["media"])

_INSTANCE = f"/api/v1/objects/{OBJECT_KEY_EXAMPLE}"
_BINARY = {"type": "string", "format": "binary"}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The object's bytes, with its stored content type",
        "content": {
            "video/mp4": {"schema": {**_BINARY, "description": "An event clip (H.264 in MP4)"}},
            "image/jpeg": {"schema": {**_BINARY, "description": "An event snapshot or thumbnail"}},
        },
    },
    403: problem_doc(
        "Bad or expired signature",
        problem_example(403, "Forbidden", "signature does not match", _INSTANCE),
    ),
    404: problem_doc(
        "No such object",
        problem_example(404, "No such object", f"no object {OBJECT_KEY_EXAMPLE!r}", _INSTANCE),
    ),
    503: problem_doc(
        "The local storage root cannot be read; see Retry-After",
        problem_example(
            503,
            "Object store unavailable",
            "local storage root /var/lib/sharp-eyes/objects is missing (deleted or unmounted?)",
            _INSTANCE,
        ),
        **{"Retry-After": "10"},
    ),
}


@router.get(
    "/{key:path}",
    summary="Download an object by presigned URL (local storage backend)",
    response_class=FileResponse,
    responses=_RESPONSES,
)
async def get_object(
    key: Annotated[str, Path(description="The object's key", examples=[OBJECT_KEY_EXAMPLE])],
    parts: PartsDep,
    expires: Annotated[int, Query(description="Unix time the link expires", examples=[1714566248])],
    signature: Annotated[
        str, Query(min_length=1, max_length=128, description="HMAC-SHA256, hex", examples=[SIGNATURE_EXAMPLE])
    ],
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
