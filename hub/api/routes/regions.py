"""Regions: the administrative tree that cameras are filed under."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from hub.api.deps import SessionDep
from hub.api.routes._registry import RegistryRoute
from hub.api.schemas import Page, problem_doc, problem_example
from hub.api.schemas_registry import RegionCreate, RegionOut, RegionUpdate
from hub.registry import regions

router = APIRouter(prefix="/regions", tags=["regions"], route_class=RegistryRoute)

RegionId = Annotated[str, Path(description="The region's id", examples=["licheng"])]
_INSTANCE = "/api/v1/regions/licheng"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem_doc(
        "No such region", problem_example(404, "Region not found", "no region 'licheng'", _INSTANCE)
    )
}
_IN_USE = problem_doc(
    "It still has child regions or cameras",
    problem_example(
        409,
        "Conflict",
        "region 'licheng' still has 2 child region(s) and 14 camera(s): move or delete them first",
        _INSTANCE,
    ),
)
_MOVE_EXAMPLES = {
    "rename": {"summary": "Rename", "value": {"name": "Licheng District"}},
    "move": {"summary": "Move under another region", "value": {"parent_id": "jinan"}},
    "to the top": {"summary": "Make it a root", "value": {"parent_id": None}},
}


@router.post(
    "",
    response_model=RegionOut,
    status_code=201,
    summary="Create a region",
    responses={409: {"description": "The id is taken"}, 422: {"description": "Unknown parent"}},
)
async def create_region(session: SessionDep, spec: RegionCreate) -> RegionOut:
    region = await regions.create_region(session=session, spec=spec)
    await session.commit()
    return RegionOut.model_validate(region)


@router.get("", response_model=Page[RegionOut], summary="List regions in tree order")
async def list_regions(
    session: SessionDep,
    parent: Annotated[str | None, Query(description="Only the direct children of this region")] = None,
    subtree_of: Annotated[
        str | None, Query(description="This region and all its descendants (404 if unknown)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[RegionOut]:
    rows, total = await regions.list_regions(
        session=session, parent_id=parent, subtree_of=subtree_of, limit=limit, offset=offset
    )
    return Page(items=[RegionOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{region_id}", response_model=RegionOut, summary="One region", responses=NOT_FOUND)
async def get_region(region_id: RegionId, session: SessionDep) -> RegionOut:
    return RegionOut.model_validate(await regions.get_region(session=session, region_id=region_id))


@router.patch(
    "/{region_id}",
    response_model=RegionOut,
    summary="Rename or move a region (its subtree moves with it)",
    responses={**NOT_FOUND, 409: {"description": "Move under the region's own subtree"}},
)
async def update_region(
    region_id: RegionId,
    session: SessionDep,
    patch: Annotated[RegionUpdate, Body(openapi_examples=_MOVE_EXAMPLES)],
) -> RegionOut:
    region = await regions.update_region(session=session, region_id=region_id, patch=patch)
    await session.commit()
    return RegionOut.model_validate(region)


@router.delete(
    "/{region_id}",
    status_code=204,
    summary="Delete an empty region",
    responses={**NOT_FOUND, 409: _IN_USE},
)
async def delete_region(region_id: RegionId, session: SessionDep) -> Response:
    await regions.delete_region(session=session, region_id=region_id)
    await session.commit()
    return Response(status_code=204)
