"""A camera's picture now: its ONVIF snapshot URI fetched with HTTP Digest, privacy masks drawn.

The picture never leaves the hub unmasked: masks are drawn on the decoded image
(``inference.privacy``) off the event loop, and the JPEG re-encoded.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, Path, Response

from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.api.routes._onvif import OnvifRoute
from hub.api.schemas import CAMERA_ID_EXAMPLE, problem_doc, problem_example
from hub.db.models import Camera, CameraSource
from hub.registry import cameras
from inference.privacy import masked_jpeg

log = logging.getLogger(__name__)

router = APIRouter(prefix="/cameras", tags=["cameras"], route_class=OnvifRoute)

FETCH_TIMEOUT_S = 5.0
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024
# What fetching the picture raises: refused, reset, DNS, time-outs, a broken HTTP reply.
FETCH_ERRORS = (httpx.HTTPError,)
_TYPE = PROBLEM_TYPE_BASE + "snapshot"
_INSTANCE = f"/api/v1/cameras/{CAMERA_ID_EXAMPLE}/snapshot.jpg"


def _camera_failed(camera_id: str, reason: str) -> Problem:
    return Problem(502, "Camera snapshot failed", f"camera {camera_id!r}: {reason}", type_=_TYPE)


def _auth(row: Camera, parts: PartsDep) -> httpx.DigestAuth | None:
    if row.source == CameraSource.CONFIG or not row.username:
        return None  # YAML cameras have no snapshot URL in the registry
    password = parts.cipher.decrypt(row.password_enc) if row.password_enc else ""
    return httpx.DigestAuth(row.username, password)


async def fetch_snapshot(url: str, auth: httpx.DigestAuth | None, *, camera_id: str) -> bytes:
    """The body of ``url`` (at most MAX_SNAPSHOT_BYTES), or a 502 problem that says why not."""
    try:
        async with (
            httpx.AsyncClient(auth=auth, timeout=FETCH_TIMEOUT_S, trust_env=False) as client,
            client.stream("GET", url) as reply,
        ):
            if reply.status_code in (401, 403):
                raise _camera_failed(
                    camera_id, f"the camera refused the credentials (HTTP {reply.status_code})"
                )
            if reply.status_code != 200:
                raise _camera_failed(camera_id, f"the snapshot URI answered HTTP {reply.status_code}")
            body = bytearray()
            async for chunk in reply.aiter_bytes():
                body += chunk
                if len(body) > MAX_SNAPSHOT_BYTES:
                    raise _camera_failed(camera_id, f"the picture is over {MAX_SNAPSHOT_BYTES} bytes")
    except httpx.TimeoutException as err:
        raise _camera_failed(camera_id, f"no answer within {FETCH_TIMEOUT_S:g} s") from err
    except FETCH_ERRORS as err:
        raise _camera_failed(camera_id, f"the camera does not answer ({type(err).__name__}: {err})") from err
    return bytes(body)


@router.get(
    "/{camera_id}/snapshot.jpg",
    response_class=Response,
    summary="The camera's picture now, with its privacy masks drawn",
    description="Fetched from the camera's ONVIF snapshot URI with HTTP Digest and the stored "
    "credentials; every privacy mask is filled black before the JPEG leaves the hub.",
    responses={
        200: {
            "description": "The picture, privacy masks filled black (never cached: Cache-Control no-store)",
            "content": {
                "image/jpeg": {
                    "schema": {
                        "type": "string",
                        "format": "binary",
                        "description": "A JPEG, re-encoded after the masks are drawn",
                    }
                }
            },
        },
        404: problem_doc(
            "No such camera, or it has no snapshot URI",
            problem_example(
                404,
                "No snapshot",
                f"camera {CAMERA_ID_EXAMPLE!r} has no snapshot URI (refresh it over ONVIF)",
                _INSTANCE,
            ),
        ),
        502: problem_doc(
            "The camera does not answer, refuses the credentials or sends no picture",
            problem_example(
                502,
                "Camera snapshot failed",
                f"camera {CAMERA_ID_EXAMPLE!r}: no answer within 5 s",
                _INSTANCE,
                type_=_TYPE,
            ),
        ),
    },
)
async def snapshot(
    camera_id: Annotated[str, Path(description="The camera's id", examples=[CAMERA_ID_EXAMPLE])],
    session: SessionDep,
    parts: PartsDep,
) -> Response:
    row = await cameras.get_camera(session=session, camera_id=camera_id)
    if not row.snapshot_url:
        raise Problem(404, "No snapshot", f"camera {camera_id!r} has no snapshot URI (refresh it over ONVIF)")
    url, masks, auth = row.snapshot_url, list(row.privacy_masks), _auth(row, parts)
    await session.close()  # no database connection held while the camera answers
    body = await fetch_snapshot(url, auth, camera_id=camera_id)
    try:
        picture = await asyncio.to_thread(masked_jpeg, body, masks)
    except ValueError as err:
        raise _camera_failed(camera_id, f"the snapshot URI sent no picture ({err})") from err
    return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
