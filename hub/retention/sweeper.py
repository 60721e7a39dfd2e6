"""The retention sweeper: deletes expired objects from the store, then their rows and fields.

Objects go first and the database follows in one transaction per batch, restricted to what was
really deleted (``ExpiryPlan.settled``), so the database never calls a missing object ``stored``
for longer than a crash between the two steps; the next sweep finds the same rows again and
finishes them (a missing object counts as deleted). When the store is unavailable the sweep stops
and the next one retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.aio import cancel_and_wait
from hub.config.retention import RetentionSettings
from hub.db.models import Camera, Event, MediaState, Ticket, TicketState
from hub.retention.policy import (
    CONTINUOUS_PREFIX,
    EventMedia,
    ExpiryPlan,
    RetentionDays,
    earliest_cutoff,
    expired_media,
    expired_segments,
)
from storage.base import ObjectStore
from storage.errors import ObjectNotFound, StorageUnavailable

log = logging.getLogger(__name__)

Overrides = Mapping[str, Mapping[str, Any] | None]


@dataclass(slots=True)
class SweepReport:
    objects_deleted: int = 0
    clips_expired: int = 0
    snapshots_expired: int = 0
    events_deleted: int = 0
    segments_deleted: int = 0
    interrupted: bool = False  # the store failed; the rest waits for the next sweep
    error: str = ""


class _StoreDown(Exception):
    """Deleting stopped: the store is unavailable. ``deleted`` holds the keys that did go."""

    def __init__(self, deleted: set[str], cause: StorageUnavailable) -> None:
        super().__init__(str(cause))
        self.deleted = deleted


class RetentionSweeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        settings: RetentionSettings,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.settings = settings
        self.defaults = RetentionDays(
            event_clip=settings.event_clip_days,
            snapshot=settings.snapshot_days,
            continuous=settings.continuous_days,
        )
        self.last_report: SweepReport | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="retention-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once(datetime.now(UTC))
            except Exception:  # the database may be down: log it, try again next interval
                log.exception("retention: sweep failed; retrying in %.0f s", self.settings.sweep_interval_s)
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def sweep_once(self, now: datetime) -> SweepReport:
        """One pass over every event and continuous segment that may have expired at ``now``."""
        report = SweepReport()
        try:
            overrides = await self._overrides()
            await self._sweep_events(now, overrides, report)
            await self._sweep_segments(now, overrides, report)
        except _StoreDown as err:
            report.interrupted = True
            report.error = str(err)
            log.warning("retention: object store unavailable (%s); the sweep resumes next time", err)
        self.last_report = report
        if report.objects_deleted or report.events_deleted:
            log.info(
                "retention: deleted %d object(s) (%d clip(s), %d snapshot(s), %d segment(s)) and %d event(s)",
                report.objects_deleted,
                report.clips_expired,
                report.snapshots_expired,
                report.segments_deleted,
                report.events_deleted,
            )
        return report

    async def _overrides(self) -> dict[str, dict[str, Any] | None]:
        async with self.sessions() as session:
            rows = (await session.execute(select(Camera.id, Camera.retention))).all()
        return {camera_id: retention for camera_id, retention in rows}

    async def _sweep_events(self, now: datetime, overrides: Overrides, report: SweepReport) -> None:
        cutoff = earliest_cutoff(self.defaults, overrides.values(), now)
        after: tuple[datetime, str] | None = None
        while True:
            batch, after = await self._load_batch(cutoff, after)
            if after is None:
                return
            plan = expired_media(batch, defaults=self.defaults, overrides=overrides, now=now)
            try:
                deleted = await self._delete_objects(plan.deletion_order())
            except _StoreDown as err:
                await self._apply(plan.settled(err.deleted), report)
                report.objects_deleted += len(err.deleted)
                raise
            report.objects_deleted += len(deleted)
            await self._apply(plan, report)

    async def _load_batch(
        self, cutoff: datetime, after: tuple[datetime, str] | None
    ) -> tuple[list[EventMedia], tuple[datetime, str] | None]:
        """The next events (by start) that started before ``cutoff``, with every event sharing
        a clip with one of them, and their tickets' states."""
        query = select(Event).where(Event.started_at <= cutoff)
        if after is not None:
            started, event_id = after
            query = query.where(
                or_(Event.started_at > started, and_(Event.started_at == started, Event.id > event_id))
            )
        query = query.order_by(Event.started_at, Event.id).limit(self.settings.batch_size)
        async with self.sessions() as session:
            events = list((await session.scalars(query)).all())
            ids = {e.id for e in events}
            clip_keys = {e.clip_key for e in events if e.clip_key is not None}
            if clip_keys:
                sharing = select(Event).where(Event.clip_key.in_(clip_keys), Event.id.not_in(ids))
                siblings = list((await session.scalars(sharing)).all())
            else:
                siblings = []
            all_ids = ids | {e.id for e in siblings}
            found = await session.execute(
                select(Ticket.event_id, Ticket.state).where(Ticket.event_id.in_(all_ids))
            )
            tickets: dict[str, TicketState] = {event_id: state for event_id, state in found.all()}
        facts = [_facts(e, tickets.get(e.id)) for e in (*events, *siblings)]
        cursor = (events[-1].started_at, events[-1].id) if events else None
        return facts, cursor

    async def _delete_objects(self, keys: Sequence[str]) -> set[str]:
        deleted: set[str] = set()
        for key in keys:
            try:
                with contextlib.suppress(ObjectNotFound):  # already gone is as good as deleted
                    await self.store.delete(key)
            except StorageUnavailable as err:
                raise _StoreDown(deleted, err) from err
            deleted.add(key)
        return deleted

    async def _apply(self, plan: ExpiryPlan, report: SweepReport) -> None:
        """Write the plan's row changes in one transaction."""
        doomed = sorted(plan.delete_events)
        clips = sorted(plan.update_clips)
        snapshots = sorted(plan.update_snapshots)
        if not (doomed or clips or snapshots):
            return
        async with self.sessions.begin() as session:
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
                # Only rows whose ticket is delivered: an undelivered ticket is never dropped.
                delivered = select(Ticket.event_id).where(
                    Ticket.event_id.in_(doomed), Ticket.state == TicketState.DELIVERED
                )
                gone = sorted((await session.scalars(delivered)).all())
                if gone:
                    await session.execute(delete(Ticket).where(Ticket.event_id.in_(gone)))
                    await session.execute(delete(Event).where(Event.id.in_(gone)))
                report.events_deleted += len(gone)
        report.clips_expired += len(set(plan.expire_clips.values()))
        report.snapshots_expired += len(plan.expire_snapshots)

    async def _sweep_segments(self, now: datetime, overrides: Overrides, report: SweepReport) -> None:
        try:
            objects = await self.store.list(CONTINUOUS_PREFIX)
        except StorageUnavailable as err:
            raise _StoreDown(set(), err) from err
        keys = expired_segments(objects, defaults=self.defaults, overrides=overrides, now=now)
        try:
            deleted = await self._delete_objects(keys)
        except _StoreDown as err:
            report.segments_deleted += len(err.deleted)
            report.objects_deleted += len(err.deleted)
            raise
        report.segments_deleted += len(deleted)
        report.objects_deleted += len(deleted)


def _facts(event: Event, ticket: TicketState | None) -> EventMedia:
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
    )
