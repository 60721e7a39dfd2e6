"""Cameras of the registry: keyword-only data access functions that take the session.

Rows with ``source="config"`` belong to the YAML file (``hub.ingest.camera_status``): the API
reads them but every change is refused with :class:`ReadOnlyCamera`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, false, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Camera, CameraKind, CameraSource, CameraStatus, Event, Region
from hub.db.pages import fetch_page
from hub.registry.credentials import CredentialCipher
from hub.registry.errors import (
    Conflict,
    DuplicateId,
    InvalidReference,
    InvalidValue,
    NotFound,
    ReadOnlyCamera,
)
from hub.registry.regions import subtree_ids
from hub.registry.specs import CameraFields, CameraPatch, CameraSpec, cross_field_problems

# Spec fields stored as they are (the rest: id, password, and main_url's "" for "not known yet").
_FIELDS = frozenset(CameraFields.model_fields)
_PLAIN_FIELDS = tuple(name for name in CameraFields.model_fields if name not in ("password", "main_url"))


@dataclass(frozen=True, slots=True)
class CameraFilters:
    region_id: str | None = None  # the region and its whole subtree
    kind: CameraKind | None = None
    tags: Sequence[str] = field(default_factory=tuple)  # every one must be on the camera
    status: CameraStatus | None = None
    q: str | None = None  # substring of the id or the name, any case
    enabled: bool | None = None


def column_values(
    spec: CameraFields, cipher: CredentialCipher, *, sent: set[str] | None = None
) -> dict[str, Any]:
    """The columns ``spec`` sets: all of them, or only the ``sent`` fields (a PATCH)."""
    names = _FIELDS if sent is None else sent & _FIELDS
    values: dict[str, Any] = {name: getattr(spec, name) for name in _PLAIN_FIELDS if name in names}
    for name in ("retention", "analysis"):  # nested models, stored as JSON
        if values.get(name) is not None:
            values[name] = values[name].model_dump()
    if "privacy_masks" in values:
        values["privacy_masks"] = [[list(point) for point in mask] for mask in values["privacy_masks"]]
    if "main_url" in names:
        values["main_url"] = spec.main_url or ""  # ONVIF cameras: filled from GetStreamUri later
    if "password" in names:
        secret = spec.password
        values["password_enc"] = cipher.encrypt(secret.get_secret_value()) if secret is not None else None
    return values


async def get_camera(*, session: AsyncSession, camera_id: str) -> Camera:
    camera = await session.get(Camera, camera_id)
    if camera is None:
        raise NotFound(f"no camera {camera_id!r}", title="Camera not found")
    return camera


async def create_camera(*, session: AsyncSession, spec: CameraSpec, cipher: CredentialCipher) -> Camera:
    existing = await session.get(Camera, spec.id)
    if existing is not None:
        owner = " (from the YAML config)" if existing.source == CameraSource.CONFIG else ""
        raise DuplicateId(f"camera {spec.id!r} already exists{owner}", field="id")
    await check_region(session=session, region_id=spec.region_id)
    camera = Camera(id=spec.id, source=CameraSource.API, **column_values(spec, cipher))
    session.add(camera)
    await session.flush()
    return camera


async def list_cameras(
    *, session: AsyncSession, filters: CameraFilters, limit: int = 100, offset: int = 0
) -> tuple[Sequence[Camera], int]:
    """Cameras matching every filter, by id, with the total over all pages."""
    query = await _filtered(session, filters)
    return await fetch_page(session, query, order_by=Camera.id, limit=limit, offset=offset)


async def update_camera(
    *, session: AsyncSession, camera_id: str, patch: CameraPatch, cipher: CredentialCipher
) -> Camera:
    camera = await writable_camera(session=session, camera_id=camera_id)
    sent = set(patch.model_fields_set)
    if "region_id" in sent:
        await check_region(session=session, region_id=patch.region_id)
    values = column_values(patch, cipher, sent=sent)
    merged = {name: getattr(camera, name) for name in CameraFields.model_fields if name != "password"}
    merged.update(values)
    problems = cross_field_problems(merged)
    if problems:
        field_name, message = problems[0]
        raise InvalidValue(message, field=field_name)
    for name, value in values.items():
        setattr(camera, name, value)
    await session.flush()
    return camera


async def delete_camera(*, session: AsyncSession, camera_id: str, purge: bool = False) -> None:
    """Refused while the camera has events, unless ``purge`` (its events and tickets go with it)."""
    camera = await writable_camera(session=session, camera_id=camera_id)
    events = await session.scalar(select(func.count()).where(Event.camera_id == camera_id)) or 0
    kept = await session.scalar(
        select(func.count()).where(Event.camera_id == camera_id, Event.keep_at.is_not(None))
    )
    if kept:  # evidence: purging would orphan its (possibly locked) media with no record of why
        raise Conflict(
            f"camera {camera_id!r} has {kept} kept event(s) (evidence): release them "
            "(DELETE /events/{id}/keep) before deleting the camera"
        )
    if events and not purge:
        raise Conflict(
            f"camera {camera_id!r} has {events} event(s): pass purge=true to delete them, their "
            "tickets and the camera's stored media with it"
        )
    await session.execute(delete(Event).where(Event.camera_id == camera_id))  # tickets cascade
    await session.delete(camera)
    await session.flush()


async def writable_camera(*, session: AsyncSession, camera_id: str) -> Camera:
    camera = await get_camera(session=session, camera_id=camera_id)
    if camera.source == CameraSource.CONFIG:
        raise ReadOnlyCamera(
            f"camera {camera_id!r} comes from the YAML config (cameras[] in the config file), "
            "which owns it: change or remove it there"
        )
    return camera


async def check_region(*, session: AsyncSession, region_id: str | None) -> None:
    if region_id is not None and await session.get(Region, region_id) is None:
        raise InvalidReference(f"no region {region_id!r}", field="region_id")


async def _filtered(session: AsyncSession, filters: CameraFilters) -> Select[Camera]:
    query = select(Camera)
    if filters.region_id is not None:
        path = await session.scalar(select(Region.path).where(Region.id == filters.region_id))
        if path is None:
            return query.where(false())  # an unknown region holds no cameras
        query = query.where(Camera.region_id.in_(subtree_ids(path)))
    if filters.kind is not None:
        query = query.where(Camera.kind == filters.kind)
    if filters.status is not None:
        query = query.where(Camera.status == filters.status)
    if filters.enabled is not None:
        query = query.where(Camera.enabled == filters.enabled)
    if filters.q:
        query = query.where(
            or_(
                Camera.id.icontains(filters.q, autoescape=True),
                Camera.name.icontains(filters.q, autoescape=True),
            )
        )
    dialect = session.get_bind().dialect.name
    for tag in filters.tags:
        query = query.where(_has_tag(dialect, tag))
    return query


def _has_tag(dialect: str, tag: str) -> ColumnElement[bool]:
    """``tag`` is an element of the camera's JSON ``tags`` list (exact match)."""
    if dialect == "postgresql":
        contains: ColumnElement[bool] = Camera.tags.cast(JSONB).contains([tag])
        return contains
    each = func.json_each(Camera.tags).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == tag))
