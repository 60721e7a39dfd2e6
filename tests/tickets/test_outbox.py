"""The outbox's data access, on SQLite and the local PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.engine import create_engine, session_factory
from hub.db.migrate import upgrade
from hub.db.models import Event, Ticket, TicketState, utcnow
from hub.tickets import outbox
from hub.tickets.payload import ticket_id_for
from tests.tickets import T0, add_tickets, load_ticket, make_camera, make_event

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def sessions(db_sessions: Sessions) -> Sessions:
    """The shared migrated database, once on SQLite and once on PostgreSQL."""
    return db_sessions


async def test_enqueue_is_idempotent_per_event(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        camera, event = make_camera(), make_event()
        session.add_all([camera, event])
        await session.flush()
        first = await outbox.enqueue_ticket(session, event=event, payload={"n": 1})
        second = await outbox.enqueue_ticket(session, event=event, payload={"n": 2})
    assert second is first
    assert first.id == ticket_id_for(event.id)
    async with sessions() as session:
        rows = list(await session.scalars(select(Ticket)))
    assert [(t.event_id, t.payload, t.state, t.attempts) for t in rows] == [
        (event.id, {"n": 1}, TicketState.PENDING, 0)
    ]


async def test_enqueue_rolls_back_with_the_event(sessions: Sessions) -> None:
    with pytest.raises(RuntimeError, match=r"^closing failed$"):
        async with sessions() as session, session.begin():
            session.add_all([make_camera(), event := make_event()])
            await session.flush()
            await outbox.enqueue_ticket(session, event=event, payload={})
            raise RuntimeError("closing failed")
    async with sessions() as session:
        assert await outbox.pending_count(session) == 0
        assert await session.scalar(select(Event.id)) is None


async def test_enqueue_refuses_a_payload_for_another_event(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        session.add_all([make_camera(), event := make_event()])
        await session.flush()
        with pytest.raises(ValueError, match=r"^payload ticket_id does not match the event$"):
            await outbox.enqueue_ticket(session, event=event, payload={"ticket_id": "other"})


async def test_claim_due_oldest_first_and_leases(sessions: Sessions) -> None:
    ids = await add_tickets(sessions, 4)
    now = utcnow()
    async with sessions() as session, session.begin():
        # Oldest first: 1, 3, 0, 2; ticket 2 is not due yet.
        for offset, ticket_id in zip((2, 4, 1, 3), ids, strict=True):
            await session.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(created_at=T0 - timedelta(minutes=offset))
            )
        await session.execute(
            update(Ticket).where(Ticket.id == ids[2]).values(next_attempt_at=now + timedelta(seconds=30))
        )
    async with sessions() as session, session.begin():
        claimed = await outbox.claim_due(session, now=now, limit=2, lease_s=10)
        assert [t.id for t in claimed] == [ids[1], ids[3]]
    async with sessions() as session, session.begin():
        rest = await outbox.claim_due(session, now=now, limit=10, lease_s=10)
        assert [t.id for t in rest] == [ids[0]]
        assert await outbox.claim_due(session, now=now, limit=10) == []
    leased = await load_ticket(sessions, ids[1])
    assert leased.next_attempt_at == now + timedelta(seconds=10)
    assert leased.state == TicketState.PENDING


@pytest.mark.parametrize("attempts", [0, 1, 3, 10, 5000])
def test_backoff_stays_within_full_jitter_bounds(attempts: int) -> None:
    rng = random.Random(7)
    ceiling = min(30.0, 0.5 * 2 ** min(attempts, 60))
    delays = [outbox.backoff_delay(attempts, initial_s=0.5, max_s=30.0, rng=rng) for _ in range(500)]
    assert all(0.25 <= d <= ceiling for d in delays)
    if ceiling > 1:
        assert max(delays) > ceiling * 0.9  # the jitter spans the whole range
        assert min(delays) < ceiling * 0.1


async def test_mark_failed_schedules_a_retry_and_mark_delivered_ends_it(sessions: Sessions) -> None:
    (ticket_id,) = await add_tickets(sessions, 1)
    now = utcnow()
    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        delay = await outbox.mark_failed(
            session, ticket=ticket, error="webhook answered 503", status_code=503, now=now,
            retry_initial_s=2.0, retry_max_s=60.0, rng=random.Random(1),
        )  # fmt: skip
        assert 1.0 <= delay <= 2.0
        after = await outbox.mark_failed(
            session, ticket=ticket, error="x", status_code=429, now=now,
            retry_initial_s=2.0, retry_max_s=60.0, retry_after_s=120,
        )  # fmt: skip
        assert after == 120
    failed = await load_ticket(sessions, ticket_id)
    assert (failed.state, failed.attempts, failed.last_status_code) == (TicketState.PENDING, 2, 429)
    assert failed.next_attempt_at == now + timedelta(seconds=120)
    async with sessions() as session, session.begin():
        assert await outbox.pending_count(session) == 1
        age = await outbox.oldest_pending_age_s(session, now=failed.created_at + timedelta(seconds=5))
        assert age == 5.0
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await outbox.mark_delivered(session, ticket=ticket, status_code=200, now=now)
    done = await load_ticket(sessions, ticket_id)
    assert (done.state, done.attempts, done.delivered_at, done.last_error) == (
        TicketState.DELIVERED,
        3,
        now,
        "",
    )
    async with sessions() as session:
        assert await outbox.pending_count(session) == 0
        assert await outbox.oldest_pending_age_s(session, now=now) is None


@pytest.mark.postgres
async def test_concurrent_claims_get_disjoint_tickets_on_postgres(postgres_database_url: str) -> None:
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url)
    sessions = session_factory(engine)
    try:
        ids = await add_tickets(sessions, 6)
        now = utcnow()
        async with sessions() as first, first.begin(), sessions() as second, second.begin():
            mine = await outbox.claim_due(first, now=now, limit=3)
            # The first transaction still holds its rows: SKIP LOCKED hands the second the others.
            theirs = await asyncio.wait_for(outbox.claim_due(second, now=now, limit=10), timeout=5)
    finally:
        await engine.dispose()
    assert len(mine) == 3
    assert {t.id for t in mine}.isdisjoint(t.id for t in theirs)
    assert {t.id for t in mine} | {t.id for t in theirs} == set(ids)
