"""Cameras and their health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import Problem
from hub.api.schemas import CameraOut, Page
from hub.db.models import Camera, CameraStatus

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.get("", response_model=Page[CameraOut], summary="List cameras")
async def list_cameras(
    session: SessionDep,
    parts: PartsDep,
    status: Annotated[CameraStatus | None, Query(description="Only cameras in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[CameraOut]:
    query = select(Camera)
    if status is not None:
        query = query.where(Camera.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await session.scalars(query.order_by(Camera.id).limit(limit).offset(offset))).all()
    live = parts.supervisor.live()
    items = [CameraOut.model_validate(row).model_copy(update={"live": live.get(row.id)}) for row in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{camera_id}", response_model=CameraOut, summary="One camera", responses={404: {}})
async def get_camera(camera_id: str, session: SessionDep, parts: PartsDep) -> CameraOut:
    row = await session.get(Camera, camera_id)
    if row is None:
        raise Problem(404, "Camera not found", f"no camera {camera_id!r}")
    return CameraOut.model_validate(row).model_copy(update={"live": parts.supervisor.live().get(row.id)})
