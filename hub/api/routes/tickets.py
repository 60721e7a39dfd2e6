"""The ticket outbox, as the grid system will see it delivered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from hub.api.deps import SessionDep
from hub.api.problems import PROBLEM_TYPE_BASE
from hub.api.schemas import EVENT_ID_EXAMPLE, Page, TicketOut, problem_doc, problem_example
from hub.db.models import Ticket, TicketState
from hub.db.pages import fetch_page

router = APIRouter(prefix="/tickets", tags=["tickets"])


_INVALID = problem_doc(
    "A query parameter is invalid",
    problem_example(
        422,
        "Request is invalid",
        "1 problem(s) in the request",
        "/api/v1/tickets",
        type_=PROBLEM_TYPE_BASE + "validation",
        errors=[{"location": "query.state", "message": "Input should be 'pending' or 'delivered'"}],
    ),
)


@router.get(
    "",
    response_model=Page[TicketOut],
    summary="List tickets, newest first",
    responses={422: _INVALID},
)
async def list_tickets(
    session: SessionDep,
    state: Annotated[TicketState | None, Query(examples=["pending"])] = None,
    event_id: Annotated[
        str | None, Query(description="Only this event's ticket", examples=[EVENT_ID_EXAMPLE])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[TicketOut]:
    query = select(Ticket)
    if state is not None:
        query = query.where(Ticket.state == state)
    if event_id is not None:
        query = query.where(Ticket.event_id == event_id)
    rows, total = await fetch_page(
        session, query, order_by=Ticket.created_at.desc(), limit=limit, offset=offset
    )
    return Page(items=[TicketOut.model_validate(t) for t in rows], total=total, limit=limit, offset=offset)
