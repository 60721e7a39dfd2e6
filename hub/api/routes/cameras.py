"""Cameras: their health, and the registry (create, change, delete, bulk import).

Cameras from the YAML config are listed like the others but are read-only here (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.api.routes._registry import CipherDep, RegistryRoute
from hub.api.schemas import CAMERA_ID_EXAMPLE, Page, problem_doc, problem_example
from hub.api.schemas_registry import (
    CSV_EXAMPLE,
    CameraCreate,
    CameraDetail,
    CameraUpdate,
    FieldError,
    ImportMode,
    ImportReport,
    RejectedRow,
)
from hub.db.models import Camera, CameraKind, CameraStatus
from hub.registry import cameras, importer, onvif_sync
from hub.retention.purge import purge_camera_media

router = APIRouter(prefix="/cameras", tags=["cameras"], route_class=RegistryRoute)

CameraId = Annotated[str, Path(description="The camera's id", examples=[CAMERA_ID_EXAMPLE])]
_INSTANCE = f"/api/v1/cameras/{CAMERA_ID_EXAMPLE}"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem_doc(
        "No such camera",
        problem_example(404, "Camera not found", f"no camera {CAMERA_ID_EXAMPLE!r}", _INSTANCE),
    )
}
READ_ONLY: dict[int | str, dict[str, Any]] = {
    409: problem_doc(
        "The camera comes from the YAML config",
        problem_example(
            409,
            "Camera is read-only",
            f"camera {CAMERA_ID_EXAMPLE!r} comes from the YAML config (cameras[] in the config file), "
            "which owns it: change or remove it there",
            _INSTANCE,
            type_=PROBLEM_TYPE_BASE + "read-only",
        ),
    )
}
_DELETE_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The camera comes from the YAML config, or it has events and `purge` is not set",
        "content": {
            "application/problem+json": {
                "schema": {"type": "object"},
                "examples": {
                    "read-only": {
                        "summary": "A camera from the YAML config",
                        "value": READ_ONLY[409]["content"]["application/problem+json"]["example"],
                    },
                    "has-events": {
                        "summary": "Events would be orphaned",
                        "value": problem_example(
                            409,
                            "Conflict",
                            f"camera {CAMERA_ID_EXAMPLE!r} has 12 event(s): pass purge=true to delete them, "
                            "their tickets and the camera's stored media with it",
                            _INSTANCE,
                        ),
                    },
                },
            }
        },
    }
}
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/CameraCreate"}}
            },
        },
    }
}
_PATCH_EXAMPLES = {
    "retag": {"summary": "Replace the tags", "value": {"tags": ["gate", "night-ir"]}},
    "credentials": {"summary": "New credentials", "value": {"username": "viewer", "password": "s3cret"}},
    "move": {"summary": "File under another region", "value": {"region_id": "licheng"}},
    "masks": {
        "summary": "Privacy masks",
        "value": {"privacy_masks": [[[0.0, 0.0], [0.25, 0.0], [0.25, 0.3], [0.0, 0.3]]]},
    },
}


def _detail(row: Camera, parts: PartsDep) -> CameraDetail:
    return CameraDetail.of(row, parts.supervisor.live().get(row.id))


@router.get("", response_model=Page[CameraDetail], summary="List cameras, by id")
async def list_cameras(
    session: SessionDep,
    parts: PartsDep,
    status: Annotated[CameraStatus | None, Query(description="Only cameras in this state")] = None,
    region: Annotated[str | None, Query(description="Cameras of this region and its subtree")] = None,
    kind: Annotated[CameraKind | None, Query()] = None,
    tag: Annotated[list[str] | None, Query(description="Repeatable: cameras with every tag given")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the id or the name")] = None,
    enabled: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[CameraDetail]:
    filters = cameras.CameraFilters(
        region_id=region, kind=kind, tags=tuple(tag or ()), status=status, q=q, enabled=enabled
    )
    rows, total = await cameras.list_cameras(session=session, filters=filters, limit=limit, offset=offset)
    return Page(items=[_detail(r, parts) for r in rows], total=total, limit=limit, offset=offset)


@router.post(
    "",
    response_model=CameraDetail,
    status_code=201,
    summary="Register a camera",
    responses={409: {"description": "The id is taken"}, 422: {"description": "Invalid fields"}},
)
async def create_camera(
    session: SessionDep, parts: PartsDep, cipher: CipherDep, spec: CameraCreate
) -> CameraDetail:
    row = await cameras.create_camera(session=session, spec=spec, cipher=cipher)
    await session.commit()
    await onvif_sync.fill_after_create(session=session, camera=row, cipher=cipher)
    return _detail(row, parts)


@router.post(
    "/import",
    response_model=ImportReport,
    summary="Import cameras from CSV or JSON",
    description="CSV columns: " + ",".join(importer.CSV_COLUMNS) + " (tags `;`-separated). "
    "`all_or_nothing` writes nothing when a row is bad (422 with the report); `partial` writes "
    "the good rows (200 with the report). An existing API camera is updated with its row's "
    "non-empty fields.",
    openapi_extra=_IMPORT_BODY,
    responses={
        415: {"description": "Neither text/csv nor application/json"},
        422: {"description": "Bad file, or bad rows in all_or_nothing mode", "model": ImportReport},
    },
)
async def import_cameras(
    request: Request,
    session: SessionDep,
    cipher: CipherDep,
    mode: Annotated[ImportMode, Query()] = ImportMode.ALL_OR_NOTHING,
) -> JSONResponse:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("text/csv", "application/json"):
        raise Problem(415, "Unsupported Media Type", "send text/csv or application/json")
    outcome = await importer.import_cameras(
        session=session,
        body=await request.body(),
        is_csv=media_type == "text/csv",
        partial=mode is ImportMode.PARTIAL,
        cipher=cipher,
    )
    failed = bool(outcome.rejected) and mode is ImportMode.ALL_OR_NOTHING
    if not failed:
        await session.commit()
    report = ImportReport(
        mode=mode,
        rows=outcome.rows,
        accepted=outcome.accepted,
        created=outcome.created,
        updated=outcome.updated,
        rejected=[
            RejectedRow(
                row=r.row, id=r.camera_id, errors=[FieldError(field=f, message=m) for f, m in r.errors]
            )
            for r in outcome.rejected
        ],
    )
    return JSONResponse(report.model_dump(mode="json"), status_code=422 if failed else 200)


@router.get("/{camera_id}", response_model=CameraDetail, summary="One camera", responses=NOT_FOUND)
async def get_camera(camera_id: CameraId, session: SessionDep, parts: PartsDep) -> CameraDetail:
    return _detail(await cameras.get_camera(session=session, camera_id=camera_id), parts)


@router.patch(
    "/{camera_id}",
    response_model=CameraDetail,
    summary="Change a camera (only the fields sent)",
    responses={**NOT_FOUND, **READ_ONLY, 422: {"description": "Invalid fields"}},
)
async def update_camera(
    camera_id: CameraId,
    session: SessionDep,
    parts: PartsDep,
    cipher: CipherDep,
    patch: Annotated[CameraUpdate, Body(openapi_examples=_PATCH_EXAMPLES)],
) -> CameraDetail:
    row = await cameras.update_camera(session=session, camera_id=camera_id, patch=patch, cipher=cipher)
    await session.commit()
    return _detail(row, parts)


@router.delete(
    "/{camera_id}",
    status_code=204,
    summary="Delete a camera",
    description="Refused (409) while the camera has kept events, or events unless `purge=true` deletes "
    "them, their tickets and the camera's stored media too.",
    responses={**NOT_FOUND, **_DELETE_CONFLICT},
)
async def delete_camera(
    camera_id: CameraId,
    session: SessionDep,
    parts: PartsDep,
    purge: Annotated[
        bool,
        Query(description="Also delete the camera's events, tickets and stored media", examples=[True]),
    ] = False,
) -> Response:
    await cameras.delete_camera(session=session, camera_id=camera_id, purge=purge)
    await session.commit()
    if purge:  # after the commit: a failed delete leaves an object, never a row without one
        await purge_camera_media(parts.store, camera_id)
    return Response(status_code=204)
