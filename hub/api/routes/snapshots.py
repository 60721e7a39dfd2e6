"""A camera's picture now: its ONVIF snapshot URI fetched with HTTP Digest, privacy masks drawn.

The picture never leaves the hub unmasked: masks are drawn on the decoded image
(``inference.privacy``) off the event loop, and the JPEG re-encoded.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from fastapi import APIRouter, Response

from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.api.routes._onvif import OnvifRoute
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
        200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
        404: {"description": "No such camera, or it has no snapshot URI"},
        502: {"description": "The camera does not answer, refuses the credentials or sends no picture"},
    },
)
async def snapshot(camera_id: str, session: SessionDep, parts: PartsDep) -> Response:
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
