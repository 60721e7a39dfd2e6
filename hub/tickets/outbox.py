"""Data access for the ticket outbox. Keyword-only functions over an explicit session.

The caller owns the transaction. ``claim_due`` takes a short lease (it pushes
``next_attempt_at`` forward) instead of holding row locks across the HTTP request, so the
transaction can commit before the POST; ``FOR UPDATE SKIP LOCKED`` keeps two hub nodes
from claiming the same row on PostgreSQL (SQLite has one writer and ignores the clause).
A crash mid-POST leaves the ticket due again when the lease ends; the receiver dedupes the
second POST on the ``Idempotency-Key``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Event, Ticket, TicketState
from hub.tickets.payload import ticket_id_for

# Long enough for any sane webhook timeout; the deliverer passes its own.
DEFAULT_LEASE_S = 60.0
# A Retry-After beyond a day is a receiver bug, not a plan.
MAX_RETRY_AFTER_S = 86_400.0
_MAX_ERROR_CHARS = 2000


async def enqueue_ticket(session: AsyncSession, *, event: Event, payload: dict[str, Any]) -> Ticket:
    """Add the event's ticket, in the caller's transaction (the one that closes the event).

    Idempotent per event: a second call returns the existing row untouched.
    """
    ticket_id = ticket_id_for(event.id)
    if payload.get("ticket_id", ticket_id) != ticket_id:
        raise ValueError("payload ticket_id does not match the event")
    existing = await session.scalar(select(Ticket).where(Ticket.event_id == event.id))
    if existing is not None:
        return existing
    ticket = Ticket(id=ticket_id, event_id=event.id, payload=payload)
    session.add(ticket)
    await session.flush()
    return ticket


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, lease_s: float = DEFAULT_LEASE_S
) -> list[Ticket]:
    """Pending tickets due at ``now``, oldest first, leased for ``lease_s`` to this caller."""
    query = (
        select(Ticket)
        .where(Ticket.state == TicketState.PENDING, Ticket.next_attempt_at <= now)
        .order_by(Ticket.created_at, Ticket.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    tickets = list(await session.scalars(query))
    lease_end = now + timedelta(seconds=lease_s)
    for ticket in tickets:
        ticket.next_attempt_at = lease_end
    await session.flush()
    return tickets


async def mark_delivered(session: AsyncSession, *, ticket: Ticket, status_code: int, now: datetime) -> None:
    """Record the receiver's acknowledgement; the ticket leaves the queue for good."""
    ticket.state = TicketState.DELIVERED
    ticket.attempts += 1
    ticket.delivered_at = now
    ticket.last_status_code = status_code
    ticket.last_error = ""
    await session.flush()


def backoff_delay(
    attempts: int, *, initial_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Full-jitter exponential back-off after ``attempts`` earlier failures, never under initial/2."""
    ceiling = min(max_s, initial_s * 2.0 ** min(attempts, 60))
    delay = (rng or random).uniform(0, ceiling)
    return min(max(delay, initial_s / 2), max_s)


async def mark_failed(
    session: AsyncSession,
    *,
    ticket: Ticket,
    error: str,
    status_code: int | None,
    now: datetime,
    retry_initial_s: float,
    retry_max_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Record a failed attempt and schedule the next; returns the delay in seconds.

    A ticket is never dropped: every failure, a receiver's rejection included, is a retry.
    ``retry_after_s`` (the receiver's ``Retry-After``) replaces the back-off when given.
    """
    if ticket.state == TicketState.DELIVERED:
        return 0.0  # another node's earlier POST got through meanwhile
    if retry_after_s is not None:
        delay = min(max(retry_after_s, 0.0), MAX_RETRY_AFTER_S)
    else:
        delay = backoff_delay(ticket.attempts, initial_s=retry_initial_s, max_s=retry_max_s, rng=rng)
    ticket.attempts += 1
    ticket.last_error = error[:_MAX_ERROR_CHARS]
    ticket.last_status_code = status_code
    ticket.next_attempt_at = now + timedelta(seconds=delay)
    await session.flush()
    return delay


async def pending_count(session: AsyncSession) -> int:
    """How many tickets the grid system has not acknowledged yet."""
    count = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.state == TicketState.PENDING)
    )
    return int(count or 0)


async def oldest_pending_age_s(session: AsyncSession, *, now: datetime) -> float | None:
    """Age of the oldest undelivered ticket, for the status page and alerts; None when none."""
    oldest = await session.scalar(
        select(Ticket.created_at)
        .where(Ticket.state == TicketState.PENDING)
        .order_by(Ticket.created_at)
        .limit(1)
    )
    if oldest is None:
        return None
    return max((now - oldest).total_seconds(), 0.0)


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending ticket falls due, so the worker can sleep until then."""
    return await session.scalar(
        select(Ticket.next_attempt_at)
        .where(Ticket.state == TicketState.PENDING)
        .order_by(Ticket.next_attempt_at)
        .limit(1)
    )
