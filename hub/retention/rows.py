"""Retention's database side: keyword-only reads and writes over events, tickets and segments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Camera, Event, MediaState, Segment, Ticket, TicketState
from hub.retention.policy import EventMedia, ExpiryPlan
from hub.retention.quota import StoredSegment, Usage

Sessions = async_sessionmaker[AsyncSession]
Cursor = tuple[datetime, str]  # (start, id) of the last row of a batch


async def camera_overrides(sessions: Sessions) -> dict[str, dict[str, Any] | None]:
    """Each camera's ``retention`` column."""
    async with sessions() as session:
        rows = (await session.execute(select(Camera.id, Camera.retention))).all()
    return {camera_id: retention for camera_id, retention in rows}


async def load_events(
    sessions: Sessions, *, where: Sequence[ColumnElement[bool]], after: Cursor | None, limit: int
) -> tuple[list[EventMedia], list[EventMedia], Cursor | None]:
    """The next ``limit`` events (by start) matching ``where``, every other event that shares a
    clip with one of them, and the cursor after the batch (None when there was none)."""
    query = select(Event).where(*where)
    if after is not None:
        started, event_id = after
        query = query.where(
            or_(Event.started_at > started, and_(Event.started_at == started, Event.id > event_id))
        )
    query = query.order_by(Event.started_at, Event.id).limit(limit)
    async with sessions() as session:
        events = list((await session.scalars(query)).all())
        ids = {e.id for e in events}
        clip_keys = {e.clip_key for e in events if e.clip_key is not None}
        siblings: list[Event] = []
        if clip_keys:
            sharing = select(Event).where(Event.clip_key.in_(clip_keys), Event.id.not_in(ids))
            siblings = list((await session.scalars(sharing)).all())
        found = await session.execute(
            select(Ticket.event_id, Ticket.state).where(Ticket.event_id.in_(ids | {e.id for e in siblings}))
        )
        tickets: dict[str, TicketState] = {event_id: state for event_id, state in found.all()}
    cursor = (events[-1].started_at, events[-1].id) if events else None
    return (
        [event_facts(e, tickets.get(e.id)) for e in events],
        [event_facts(e, tickets.get(e.id)) for e in siblings],
        cursor,
    )


async def kept_among(
    sessions: Sessions, *, event_ids: Iterable[str], clip_keys: Iterable[str]
) -> tuple[set[str], set[str]]:
    """Which of ``event_ids`` are kept now, and which of ``clip_keys`` a kept event uses."""
    ids, keys = sorted(set(event_ids)), sorted(set(clip_keys))
    kept_ids: set[str] = set()
    kept_keys: set[str] = set()
    async with sessions() as session:
        if ids:
            by_id = select(Event.id).where(Event.id.in_(ids), Event.keep_at.is_not(None))
            kept_ids = set((await session.scalars(by_id)).all())
        if keys:
            by_clip = select(Event.clip_key).where(Event.clip_key.in_(keys), Event.keep_at.is_not(None))
            kept_keys = {k for k in (await session.scalars(by_clip)).all() if k is not None}
    return kept_ids, kept_keys


async def apply_plan(sessions: Sessions, plan: ExpiryPlan) -> int:
    """Write the plan's row changes in one transaction; returns how many event rows went."""
    doomed = sorted(plan.delete_events)
    clips = sorted(plan.update_clips)
    snapshots = sorted(plan.update_snapshots)
    if not (doomed or clips or snapshots):
        return 0
    gone: list[str] = []
    async with sessions.begin() as session:
        if clips:
            await session.execute(
                update(Event)
                .where(Event.id.in_(clips), Event.clip_state == MediaState.STORED)
                .values(clip_state=MediaState.EXPIRED)
            )
        if snapshots:
            await session.execute(
                update(Event)
                .where(Event.id.in_(snapshots), Event.snapshot_state == MediaState.STORED)
                .values(snapshot_state=MediaState.EXPIRED)
            )
        if doomed:
            # Only rows whose ticket is delivered (an undelivered ticket is never dropped), and
            # never a row an operator has marked keep meanwhile.
            delivered = (
                select(Ticket.event_id)
                .join(Event, Event.id == Ticket.event_id)
                .where(
                    Ticket.event_id.in_(doomed),
                    Ticket.state == TicketState.DELIVERED,
                    Event.keep_at.is_(None),
                )
            )
            gone = sorted((await session.scalars(delivered)).all())
            if gone:
                await session.execute(delete(Ticket).where(Ticket.event_id.in_(gone)))
                await session.execute(delete(Event).where(Event.id.in_(gone)))
    return len(gone)


async def stored_segments(
    sessions: Sessions, *, after: Cursor | None, limit: int
) -> tuple[list[StoredSegment], Cursor | None]:
    """The next ``limit`` segments in the store, oldest first, and the cursor after them."""
    query = select(Segment.id, Segment.key, Segment.bytes, Segment.start_at).where(
        Segment.state == MediaState.STORED
    )
    if after is not None:
        start, segment_id = after
        query = query.where(
            or_(Segment.start_at > start, and_(Segment.start_at == start, Segment.id > segment_id))
        )
    query = query.order_by(Segment.start_at, Segment.id).limit(limit)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    segments = [StoredSegment(key=key, bytes=size, start_at=start) for _, key, size, start in rows]
    cursor = (rows[-1][3], rows[-1][0]) if rows else None
    return segments, cursor


async def delete_segment_rows(sessions: Sessions, *, keys: Iterable[str]) -> None:
    """Drop the index rows of deleted segment objects."""
    doomed = sorted(set(keys))
    if doomed:
        async with sessions.begin() as session:
            await session.execute(delete(Segment).where(Segment.key.in_(doomed)))


async def usage(sessions: Sessions) -> Usage:
    """Bytes in the store by kind, from the rows' sizes; a clip shared by events counts once."""
    stored_clips = (Event.clip_state == MediaState.STORED, Event.clip_key.is_not(None))
    stored_snaps = Event.snapshot_state == MediaState.STORED
    snap_bytes = func.coalesce(Event.snapshot_bytes, 0) + func.coalesce(Event.thumbnail_bytes, 0)
    kept = Event.keep_at.is_not(None)
    async with sessions() as session:
        segments = await session.scalar(
            select(func.coalesce(func.sum(Segment.bytes), 0)).where(Segment.state == MediaState.STORED)
        )
        clips = await session.scalar(_distinct_clip_bytes(*stored_clips))
        kept_clips = await session.scalar(_distinct_clip_bytes(*stored_clips, kept))
        snaps = await session.scalar(select(func.coalesce(func.sum(snap_bytes), 0)).where(stored_snaps))
        kept_snaps = await session.scalar(
            select(func.coalesce(func.sum(snap_bytes), 0)).where(stored_snaps, kept)
        )
        kept_events = await session.scalar(select(func.count()).select_from(Event).where(kept))
    return Usage(
        segments=int(segments or 0),
        clips=int(clips or 0),
        snapshots=int(snaps or 0),
        kept=int(kept_clips or 0) + int(kept_snaps or 0),
        kept_events=int(kept_events or 0),
    )


def _distinct_clip_bytes(*where: ColumnElement[bool]) -> Any:
    per_key = (
        select(Event.clip_key, func.max(func.coalesce(Event.clip_bytes, 0)).label("size"))
        .where(*where)
        .group_by(Event.clip_key)
        .subquery()
    )
    return select(func.coalesce(func.sum(per_key.c.size), 0))


def event_facts(event: Event, ticket: TicketState | None) -> EventMedia:
    return EventMedia(
        event_id=event.id,
        camera_id=event.camera_id,
        state=event.state,
        started_at=event.started_at,
        ended_at=event.ended_at,
        clip_key=event.clip_key,
        clip_state=event.clip_state,
        snapshot_key=event.snapshot_key,
        thumbnail_key=event.thumbnail_key,
        snapshot_state=event.snapshot_state,
        ticket=ticket,
        kept=event.keep_at is not None,
        clip_bytes=event.clip_bytes or 0,
        snapshot_bytes=(event.snapshot_bytes or 0) + (event.thumbnail_bytes or 0),
    )
