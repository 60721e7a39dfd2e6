"""Ticket tests. Helpers shared by the modules live here: rows to enqueue, and a receiver secret."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Camera, Event, EventState, Ticket
from hub.tickets.outbox import enqueue_ticket
from hub.tickets.payload import build_ticket_payload

SECRET = b"test-secret-not-for-production"
T0 = datetime(2025, 3, 14, 2, 15, 30, 250000, tzinfo=UTC)


def make_camera(camera_id: str = "cam-yard") -> Camera:
    return Camera(id=camera_id, name="Substation yard", main_url="rtsp://10.0.0.7:554/main")


def make_event(camera_id: str = "cam-yard", event_id: str | None = None, **fields: object) -> Event:
    event = Event(
        camera_id=camera_id,
        kind="intrusion",
        severity="high",
        state=EventState.CLOSED,
        started_at=T0,
        ended_at=T0.replace(second=42),
        score=0.91,
        **fields,
    )
    if event_id is not None:
        event.id = event_id
    return event


async def add_tickets(sessions: async_sessionmaker[AsyncSession], count: int) -> list[str]:
    """``count`` closed events, each with its ticket enqueued in the same transaction; ticket ids."""
    ids: list[str] = []
    async with sessions() as session, session.begin():
        camera = await session.get(Camera, "cam-yard")
        if camera is None:
            camera = make_camera()
            session.add(camera)
        for _ in range(count):
            event = make_event()
            session.add(event)
            await session.flush()
            payload = build_ticket_payload(
                event, camera, media_urls={"clip": f"/api/v1/events/{event.id}/clip"}
            )
            ticket = await enqueue_ticket(session, event=event, payload=payload)
            ids.append(ticket.id)
    return ids


async def load_ticket(sessions: async_sessionmaker[AsyncSession], ticket_id: str) -> Ticket:
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket
