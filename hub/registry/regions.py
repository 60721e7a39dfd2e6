"""Regions: a tree with a materialised path (``/jinan/licheng/``), so a subtree is a prefix query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, Text, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Camera, Region
from hub.db.pages import fetch_page
from hub.registry.errors import DuplicateId, InvalidReference, NotFound, RegionCycle, RegionInUse
from hub.registry.specs import RegionPatch, RegionSpec


def child_path(parent: Region | None, region_id: str) -> str:
    return f"{parent.path if parent else '/'}{region_id}/"


def in_subtree(path: str) -> ColumnElement[bool]:
    """Regions whose path starts with ``path`` (the region itself and every descendant)."""
    return Region.path.startswith(path, autoescape=True)  # ids may hold '_', a LIKE wildcard


def subtree_ids(path: str) -> Select[str]:
    return select(Region.id).where(in_subtree(path))


async def get_region(*, session: AsyncSession, region_id: str) -> Region:
    region = await session.get(Region, region_id)
    if region is None:
        raise NotFound(f"no region {region_id!r}", title="Region not found")
    return region


async def create_region(*, session: AsyncSession, spec: RegionSpec) -> Region:
    if await session.get(Region, spec.id) is not None:
        raise DuplicateId(f"region {spec.id!r} already exists", field="id")
    parent = await _parent(session, spec.parent_id)
    region = Region(
        id=spec.id,
        name=spec.name,
        parent_id=spec.parent_id,
        level=spec.level,
        path=child_path(parent, spec.id),
    )
    session.add(region)
    await session.flush()
    return region


async def list_regions(
    *,
    session: AsyncSession,
    parent_id: str | None = None,
    subtree_of: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[Region], int]:
    """Regions in tree order (by path), with the total over all pages."""
    query = select(Region)
    if parent_id is not None:
        query = query.where(Region.parent_id == parent_id)
    if subtree_of is not None:
        root = await get_region(session=session, region_id=subtree_of)
        query = query.where(in_subtree(root.path))
    return await fetch_page(session, query, order_by=Region.path, limit=limit, offset=offset)


async def update_region(*, session: AsyncSession, region_id: str, patch: RegionPatch) -> Region:
    """Rename, relevel or move; a move rewrites the paths of the whole subtree in one UPDATE."""
    region = await get_region(session=session, region_id=region_id)
    sent = patch.model_fields_set
    if "name" in sent and patch.name is not None:
        region.name = patch.name
    if "level" in sent and patch.level is not None:
        region.level = patch.level
    if "parent_id" in sent and patch.parent_id != region.parent_id:
        await _move(session, region, patch.parent_id)
    await session.flush()
    return region


async def delete_region(*, session: AsyncSession, region_id: str) -> None:
    region = await get_region(session=session, region_id=region_id)
    children = await session.scalar(select(func.count()).where(Region.parent_id == region_id)) or 0
    cameras = await session.scalar(select(func.count()).where(Camera.region_id == region_id)) or 0
    if children or cameras:
        raise RegionInUse(
            f"region {region_id!r} still has {children} child region(s) and {cameras} camera(s): "
            "move or delete them first"
        )
    await session.delete(region)
    await session.flush()


async def _parent(session: AsyncSession, parent_id: str | None) -> Region | None:
    if parent_id is None:
        return None
    parent = await session.get(Region, parent_id)
    if parent is None:
        raise InvalidReference(f"no region {parent_id!r}", field="parent_id")
    return parent


async def _move(session: AsyncSession, region: Region, parent_id: str | None) -> None:
    parent = await _parent(session, parent_id)
    if parent is not None and parent.path.startswith(region.path):
        raise RegionCycle(
            f"cannot move region {region.id!r} under {parent.id!r}: "
            f"{'it is the region itself' if parent.id == region.id else 'that is one of its descendants'}"
        )
    old, new = region.path, child_path(parent, region.id)
    await session.execute(
        update(Region)
        .where(in_subtree(old))
        .values(path=literal(new, Text()).concat(func.substr(Region.path, len(old) + 1, type_=Text())))
        .execution_options(synchronize_session=False)
    )
    region.parent_id = parent_id
    await session.flush()
    # The UPDATE bypassed the identity map: reload the paths of the moved regions held in it.
    for held in list(session.identity_map.values()):
        if isinstance(held, Region) and held.path.startswith(old):
            await session.refresh(held, ["path"])
