"""Rows written through the models read back the same on both backends, with aware UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Camera, CameraStatus, Event, EventState, MediaState, Ticket, TicketState

STARTED = datetime(2025, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)


def _camera(camera_id: str = "front") -> Camera:
    return Camera(id=camera_id, name="Front door", main_url="rtsp://10.0.0.5/stream1")


async def _add_event(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions.begin() as session:
        session.add(_camera())
        event = Event(camera_id="front", kind="motion", severity="info", started_at=STARTED, score=0.75)
        session.add(event)
        await session.flush()
        session.add(Ticket(event_id=event.id, payload={"event": event.id, "kind": "motion"}))
        return event.id


async def test_rows_round_trip(db_sessions: async_sessionmaker[AsyncSession]) -> None:
    event_id = await _add_event(db_sessions)
    async with db_sessions() as session:
        camera = await session.get_one(Camera, "front")
        event = await session.get_one(Event, event_id)
        ticket = (await session.scalars(select(Ticket).where(Ticket.event_id == event_id))).one()
    assert (camera.name, camera.status, camera.enabled, camera.reconnects) == (
        "Front door",
        CameraStatus.UNKNOWN,
        True,
        0,
    )
    assert event.started_at == STARTED
    assert event.started_at.tzinfo is not None and event.started_at.utcoffset() == timedelta(0)
    assert (event.state, event.clip_state, event.score, event.details) == (
        EventState.OPEN,
        MediaState.NONE,
        0.75,
        {},
    )
    assert ticket.payload == {"event": event_id, "kind": "motion"}
    assert (ticket.state, ticket.attempts) == (TicketState.PENDING, 0)
    assert ticket.next_attempt_at.tzinfo is not None


async def test_other_time_zones_are_stored_as_utc(db_sessions: async_sessionmaker[AsyncSession]) -> None:
    local = STARTED.astimezone(timezone(timedelta(hours=3)))
    async with db_sessions.begin() as session:
        session.add(_camera())
        session.add(Event(id="e1", camera_id="front", kind="motion", severity="info", started_at=local))
    async with db_sessions() as session:
        event = await session.get_one(Event, "e1")
    assert event.started_at == STARTED
    assert event.started_at.tzinfo is UTC


async def test_deleting_a_camera_cascades_to_events_and_tickets(
    db_sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add_event(db_sessions)
    async with db_sessions.begin() as session:
        await session.delete(await session.get_one(Camera, "front"))
    async with db_sessions() as session:
        assert (await session.scalars(select(Event))).all() == []
        assert (await session.scalars(select(Ticket))).all() == []


async def test_event_needs_an_existing_camera(db_sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(IntegrityError):
        async with db_sessions.begin() as session:
            session.add(Event(camera_id="ghost", kind="motion", severity="info", started_at=STARTED))


async def test_one_ticket_per_event(db_sessions: async_sessionmaker[AsyncSession]) -> None:
    event_id = await _add_event(db_sessions)
    with pytest.raises(IntegrityError):
        async with db_sessions.begin() as session:
            session.add(Ticket(event_id=event_id, payload={}))
