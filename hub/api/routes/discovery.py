"""ONVIF discovery (WS-Discovery probes, devices marked when registered) and re-reading a camera.

Discovery reuses the prober's pacing (``adapters.onvif.discovery``: 200 probes/s) and runs one
sweep at a time per hub: a second request while one runs gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select

from adapters.onvif.discovery import DiscoveredDevice, probe
from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.api.routes._onvif import CAMERA_FAILED, OnvifRoute
from hub.api.schemas_onvif import DiscoveredDeviceOut, DiscoveryRequest, DiscoveryResult
from hub.api.schemas_registry import CameraDetail
from hub.db.models import Camera, CameraProtocol
from hub.registry import cameras, onvif_sync
from hub.registry.errors import Conflict

router = APIRouter(route_class=OnvifRoute)

_DISCOVERY_EXAMPLES: dict[str, Any] = {
    "hosts": {"summary": "Unicast to listed hosts", "value": {"targets": ["192.0.2.10:3702", "192.0.2.11"]}},
    "range": {"summary": "A village's /24", "value": {"cidr": "192.0.2.0/24", "timeout_s": 2}},
    "multicast": {"summary": "Multicast on one interface", "value": {"multicast_interface": "eth0"}},
}


def _lock(request: Request) -> asyncio.Lock:
    state = request.app.state
    if getattr(state, "discovery_lock", None) is None:
        state.discovery_lock = asyncio.Lock()
    lock: asyncio.Lock = state.discovery_lock
    return lock


def mark_registered(
    devices: Sequence[DiscoveredDevice], registered: Iterable[tuple[str, str]]
) -> list[DiscoveredDeviceOut]:
    """Each device with the id of the camera whose ``onvif_url`` has one of its xaddrs' host:port."""
    by_endpoint: dict[tuple[str, int], str] = {}
    for camera_id, url in registered:
        endpoint = onvif_sync.endpoint_of(url)
        if endpoint is not None:
            by_endpoint.setdefault(endpoint, camera_id)
    out = []
    for device in devices:
        ids = [by_endpoint.get(e) for e in map(onvif_sync.endpoint_of, device.xaddrs) if e is not None]
        out.append(
            DiscoveredDeviceOut(
                endpoint=device.endpoint,
                xaddrs=list(device.xaddrs),
                scopes=list(device.scopes),
                types=list(device.types),
                address=device.address,
                registered_camera_id=next((i for i in ids if i is not None), None),
            )
        )
    return out


@router.post(
    "/discovery",
    response_model=DiscoveryResult,
    tags=["discovery"],
    summary="Find ONVIF cameras by WS-Discovery",
    description="Probes `targets` and every host of `cidr` by unicast (paced at 200 probes/s, at most "
    "4096 hosts), and/or sends one multicast probe on `multicast_interface`, then waits `timeout_s`. "
    "Devices already in the registry carry `registered_camera_id` (matched on the host:port of "
    "their device service URL).",
    responses={
        422: {"description": "No target, a non-IPv4 target, or a range of more than 4096 hosts"},
        429: {"description": "Another discovery is running"},
        502: {"description": "The probe socket could not be opened"},
    },
)
async def discover(
    request: Request,
    session: SessionDep,
    body: Annotated[DiscoveryRequest, Body(openapi_examples=_DISCOVERY_EXAMPLES)],
) -> DiscoveryResult:
    lock = _lock(request)
    if lock.locked():
        raise Problem(
            429, "Too Many Requests", "a discovery is already running", headers={"Retry-After": "5"}
        )
    async with lock:
        try:
            found = await probe(
                targets=body.probe_targets() or None,
                multicast_interface=body.multicast_interface,
                timeout_s=body.timeout_s,
            )
        except ValueError as err:  # an unknown interface, or one without an IPv4 address
            raise Problem(
                422, "Request is invalid", str(err), type_=PROBLEM_TYPE_BASE + "validation"
            ) from err
        except OSError as err:
            raise Problem(502, "Discovery failed", f"cannot send probes: {err.strerror or err}") from err
    query = select(Camera.id, Camera.onvif_url).where(Camera.onvif_url.is_not(None)).order_by(Camera.id)
    registered = [(str(i), str(u)) for i, u in (await session.execute(query)).all()]
    return DiscoveryResult(devices=mark_registered(found, registered))


@router.post(
    "/cameras/{camera_id}/refresh",
    response_model=CameraDetail,
    tags=["cameras"],
    summary="Read an ONVIF camera again and update its URIs, PTZ and device info",
    description="On success the camera's stream and snapshot URIs, PTZ flag and device info are "
    "replaced by what the camera says now (the hub reopens its streams). When the camera cannot be "
    "read, its status and reason are updated and stored, and the answer is a 502 problem with the "
    "reason and `camera_status`.",
    responses={
        404: {"description": "No such camera"},
        409: {"description": "An RTSP camera, or one from the YAML config"},
        **CAMERA_FAILED,
    },
)
async def refresh_camera(camera_id: str, session: SessionDep, parts: PartsDep) -> CameraDetail:
    row = await cameras.writable_camera(session=session, camera_id=camera_id)
    if row.protocol != CameraProtocol.ONVIF:
        raise Conflict(
            f"camera {camera_id!r} is an RTSP camera: its URIs are set by hand, not read over ONVIF",
            title="Not ONVIF",
        )
    error = await onvif_sync.sync_camera(session=session, camera=row, cipher=parts.cipher)
    if error is not None:
        raise error
    parts.registry.changed()  # open the camera with its new URIs now
    return CameraDetail.of(row, parts.supervisor.live().get(row.id))
