"""Stored events: open, close, attach media, and raise the ticket in the same transaction.

A ticket is enqueued once an event is closed *and* its clip is settled (spooled, stored, failed
or never recorded), in the transaction that made it so: a crash can delay a ticket, never lose it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Camera, Event, EventState, MediaState, Segment, new_id
from hub.events.keys import media_links
from hub.ingest.health import HealthEvent
from hub.recording.remux import ClipFacts
from hub.tickets.outbox import enqueue_ticket
from hub.tickets.payload import build_ticket_payload
from inference.rules import RuleEvent, Severity

log = logging.getLogger(__name__)


def _at(wallclock: float) -> datetime:
    return datetime.fromtimestamp(wallclock, UTC)


class EventStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, on_ticket: Callable[[], None]) -> None:
        self.sessions = sessions
        self.on_ticket = on_ticket  # wakes the ticket deliverer

    async def open(
        self, camera_id: str, rule_event: RuleEvent, *, recording: bool, event_id: str | None = None
    ) -> str:
        """Insert the event; with ``event_id`` (chosen by a camera worker) a retry is a no-op."""
        async with self.sessions.begin() as session:
            if event_id is not None and await session.get(Event, event_id) is not None:
                return event_id  # the first attempt committed before its connection broke
            event = Event(
                id=event_id or new_id(),
                camera_id=camera_id,
                kind=rule_event.kind,
                severity=str(rule_event.severity),
                started_at=_at(rule_event.timestamp),
                score=rule_event.score,
                clip_state=MediaState.RECORDING if recording else MediaState.NONE,
                details={"rule": rule_event.key},
            )
            session.add(event)
            await session.flush()
            log.info("%s: %s event %s started", camera_id, event.kind, event.id)
            return event.id

    async def status_event(self, camera_id: str, change: HealthEvent) -> str | None:
        """A camera went offline or came back: a closed event with no media, ticketed at once."""
        severity = Severity.ORANGE if change.kind == "camera_offline" else Severity.YELLOW
        at = _at(change.since)
        async with self.sessions.begin() as session:
            if await session.get(Camera, camera_id) is None:
                return None  # deleted meanwhile: nobody to report about
            event = Event(
                camera_id=camera_id,
                kind=change.kind,
                severity=str(severity),
                state=EventState.CLOSED,
                started_at=at,
                ended_at=at,
                details={"status": str(change.status), "reason": change.reason},
            )
            session.add(event)
            await session.flush()
            ticketed = await self._ticket_if_settled(session, event)
        log.warning("%s: %s (%s)", camera_id, change.kind.replace("_", " "), change.reason or change.status)
        if ticketed:
            self.on_ticket()
        return event.id

    async def update_score(self, event_id: str, score: float) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                update(Event).where(Event.id == event_id, Event.score < score).values(score=score)
            )

    async def close(
        self, event_id: str, ended_wallclock: float, *, snapshot: tuple[str, str] | None, score: float
    ) -> None:
        async with self.sessions.begin() as session:
            event = await session.get(Event, event_id)
            if event is None:
                log.warning("event %s vanished before it closed (camera deleted?)", event_id)
                return
            ticketed = False
            event.state = EventState.CLOSED
            event.ended_at = max(_at(ended_wallclock), event.started_at)
            event.score = max(event.score, score)
            if snapshot is not None:
                event.snapshot_key, event.thumbnail_key = snapshot
                event.snapshot_state = MediaState.SPOOLED
            log.info("%s: event %s ended", event.camera_id, event_id)
            ticketed = await self._ticket_if_settled(session, event)
        if ticketed:
            self.on_ticket()  # after the commit, so the deliverer finds the row

    async def attach_clip(self, event_ids: Sequence[str], key: str, facts: ClipFacts) -> None:
        async with self.sessions.begin() as session:
            events = (await session.scalars(select(Event).where(Event.id.in_(event_ids)))).all()
            ticketed = False
            for event in events:
                event.clip_key = key
                event.clip_state = MediaState.SPOOLED
                event.clip_start_at = _at(facts.start_wallclock)
                event.clip_duration_s = round(facts.duration_s, 3)
                event.clip_frames = facts.frames
                event.clip_bytes = facts.bytes
                event.clip_codec = facts.codec
                event.clip_sha256 = facts.sha256
                ticketed = await self._ticket_if_settled(session, event) or ticketed
        if ticketed:
            self.on_ticket()

    async def clip_failed(self, event_ids: Sequence[str], reason: str) -> None:
        async with self.sessions.begin() as session:
            events = (await session.scalars(select(Event).where(Event.id.in_(event_ids)))).all()
            ticketed = False
            for event in events:
                event.clip_state = MediaState.FAILED
                event.details = {**event.details, "clip_error": reason}
                ticketed = await self._ticket_if_settled(session, event) or ticketed
        if ticketed:
            self.on_ticket()

    async def media_stored(self, key: str) -> None:
        """The uploader put ``key`` in the object store."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(Event).where(Event.clip_key == key).values(clip_state=MediaState.STORED)
            )
            await session.execute(
                update(Event).where(Event.snapshot_key == key).values(snapshot_state=MediaState.STORED)
            )
            await session.execute(update(Segment).where(Segment.key == key).values(state=MediaState.STORED))

    async def media_evicted(self, key: str) -> None:
        """A continuous segment was dropped from a full spool before it reached the store."""
        async with self.sessions.begin() as session:
            await session.execute(update(Segment).where(Segment.key == key).values(state=MediaState.FAILED))

    async def recover(self) -> int:
        """After a crash: close events left open, settle clips that were never written, ticket them."""
        count = 0
        async with self.sessions.begin() as session:
            open_events = (await session.scalars(select(Event).where(Event.state == EventState.OPEN))).all()
            for event in open_events:
                event.state = EventState.CLOSED
                event.ended_at = event.started_at
                event.details = {**event.details, "closed_by": "recovery after an unclean stop"}
                count += 1
            recording = (
                await session.scalars(select(Event).where(Event.clip_state == MediaState.RECORDING))
            ).all()
            for event in recording:
                event.clip_state = MediaState.FAILED
                event.details = {**event.details, "clip_error": "the hub stopped while recording"}
            for event in {*open_events, *recording}:
                await self._ticket_if_settled(session, event)
        self.on_ticket()
        if count:
            log.warning("recovered %d event(s) left open by an unclean stop", count)
        return count

    async def _ticket_if_settled(self, session: AsyncSession, event: Event) -> bool:
        if event.state != EventState.CLOSED or event.clip_state == MediaState.RECORDING:
            return False
        camera = await session.get(Camera, event.camera_id)
        if camera is None:
            return False
        payload = build_ticket_payload(event, camera, media_urls=media_links(event.id))
        await enqueue_ticket(session, event=event, payload=payload)
        return True
