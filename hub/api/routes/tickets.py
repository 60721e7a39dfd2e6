"""The ticket outbox, as the grid system will see it delivered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from hub.api.deps import SessionDep
from hub.api.schemas import Page, TicketOut
from hub.db.models import Ticket, TicketState

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.get("", response_model=Page[TicketOut], summary="List tickets, newest first")
async def list_tickets(
    session: SessionDep,
    state: Annotated[TicketState | None, Query()] = None,
    event_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[TicketOut]:
    query = select(Ticket)
    if state is not None:
        query = query.where(Ticket.state == state)
    if event_id is not None:
        query = query.where(Ticket.event_id == event_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await session.scalars(query.order_by(Ticket.created_at.desc()).limit(limit).offset(offset))).all()
    return Page(items=[TicketOut.model_validate(t) for t in rows], total=total, limit=limit, offset=offset)
