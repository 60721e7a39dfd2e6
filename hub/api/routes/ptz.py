"""Pan, tilt and zoom of one camera, through the ONVIF adapter's PtzController.

Each request opens an ONVIF session with the camera's stored (decrypted) credentials and closes
it after. Values are checked here (422) before anything goes to the camera; a camera without
PTZ answers 409, one that cannot be reached or refuses the credentials 502 (see ``_onvif``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response

from adapters.onvif.ptz import PtzController
from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import PROBLEM_TYPE_BASE
from hub.api.routes._onvif import CAMERA_FAILED, OnvifRoute
from hub.api.schemas import CAMERA_ID_EXAMPLE, problem_doc, problem_example
from hub.api.schemas_onvif import (
    PresetCreate,
    PresetCreated,
    PresetOut,
    PtzStatusOut,
    PtzTarget,
    PtzTranslation,
    PtzVelocity,
)
from hub.registry import cameras, onvif_sync

router = APIRouter(prefix="/cameras/{camera_id}/ptz", tags=["ptz"], route_class=OnvifRoute)

CameraId = Annotated[str, Path(description="The camera's id", examples=[CAMERA_ID_EXAMPLE])]
PresetToken = Annotated[str, Path(description="The camera's token of the preset", examples=["1"])]
_INSTANCE = f"/api/v1/cameras/{CAMERA_ID_EXAMPLE}/ptz/relative"
_ONVIF_TYPE = PROBLEM_TYPE_BASE + "onvif"
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: problem_doc(
        "No such camera (or preset)",
        problem_example(404, "Camera not found", f"no camera {CAMERA_ID_EXAMPLE!r}", _INSTANCE),
    ),
    409: problem_doc(
        "The camera has no ONVIF service or no PTZ",
        problem_example(
            409,
            "Not supported by the camera",
            "the camera has no PTZ service",
            _INSTANCE,
            type_=_ONVIF_TYPE,
            camera_status="degraded",
        ),
    ),
    422: problem_doc(
        "A value out of range",
        problem_example(
            422,
            "Request is invalid",
            "1 problem(s) in the request",
            _INSTANCE,
            type_=PROBLEM_TYPE_BASE + "validation",
            errors=[{"location": "body.pan", "message": "Input should be less than or equal to 1"}],
        ),
    ),
    502: problem_doc(
        CAMERA_FAILED[502]["description"],
        problem_example(
            502,
            "Camera request failed",
            "the camera refused the credentials (HTTP 401)",
            _INSTANCE,
            type_=_ONVIF_TYPE,
            camera_status="unauthorized",
        ),
    ),
}
_MOVE_EXAMPLES = {
    "right": {"summary": "Pan right at half speed for 2 s", "value": {"pan": 0.5, "timeout_s": 2}},
    "zoom-in": {"summary": "Zoom in until stop", "value": {"pan": 0, "tilt": 0, "zoom": 0.3}},
}


async def get_ptz(camera_id: CameraId, session: SessionDep, parts: PartsDep) -> AsyncIterator[PtzController]:
    row = await cameras.get_camera(session=session, camera_id=camera_id)
    access = onvif_sync.device_access(row, parts.cipher, parts.settings.cameras)
    await session.close()  # nothing more to read: no connection held while the camera answers
    async with onvif_sync.connected(access) as client:
        yield PtzController(client)


PtzDep = Annotated[PtzController, Depends(get_ptz)]


def _done() -> Response:
    return Response(status_code=204)


@router.post("/continuous", status_code=204, summary="Move at these velocities", responses=RESPONSES)
async def continuous(
    ptz: PtzDep, move: Annotated[PtzVelocity, Body(openapi_examples=_MOVE_EXAMPLES)]
) -> Response:
    await ptz.continuous(move.pan, move.tilt, move.zoom, timeout_s=move.timeout_s)
    return _done()


@router.post("/relative", status_code=204, summary="Move by this much", responses=RESPONSES)
async def relative(ptz: PtzDep, move: PtzTranslation) -> Response:
    await ptz.relative(move.pan, move.tilt, move.zoom)
    return _done()


@router.post("/absolute", status_code=204, summary="Move to this position", responses=RESPONSES)
async def absolute(ptz: PtzDep, target: PtzTarget) -> Response:
    await ptz.absolute(target.pan, target.tilt, target.zoom)
    return _done()


@router.post("/stop", status_code=204, summary="Stop pan, tilt and zoom", responses=RESPONSES)
async def stop(ptz: PtzDep) -> Response:
    await ptz.stop()
    return _done()


@router.get("/status", response_model=PtzStatusOut, summary="Where the head points now", responses=RESPONSES)
async def status(ptz: PtzDep) -> PtzStatusOut:
    return PtzStatusOut.of(await ptz.status())


@router.get("/presets", response_model=list[PresetOut], summary="The camera's presets", responses=RESPONSES)
async def presets(ptz: PtzDep) -> list[PresetOut]:
    return [PresetOut.of(preset) for preset in await ptz.presets()]


@router.post(
    "/presets",
    response_model=PresetCreated,
    status_code=201,
    summary="Store the current position as a preset",
    responses=RESPONSES,
)
async def set_preset(ptz: PtzDep, preset: PresetCreate) -> PresetCreated:
    return PresetCreated(token=await ptz.set_preset(preset.name), name=preset.name)


@router.post("/presets/{token}/goto", status_code=204, summary="Move to a preset", responses=RESPONSES)
async def goto_preset(ptz: PtzDep, token: PresetToken) -> Response:
    await ptz.goto_preset(token)
    return _done()


@router.delete("/presets/{token}", status_code=204, summary="Remove a preset", responses=RESPONSES)
async def remove_preset(ptz: PtzDep, token: PresetToken) -> Response:
    await ptz.remove_preset(token)
    return _done()
