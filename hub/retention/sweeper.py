"""The retention sweeper: deletes expired objects from the store, then their rows and fields, and
keeps the stored media under the quota.

Each sweep: (1) retries object locks of kept events left pending and finishes releases
(:func:`hub.events.keep.settle_locks`); (2) days-based retention of event media; (3) of continuous
segments; (4) the quota (:mod:`hub.retention.quota`).

Objects go first and the database follows in one transaction per batch, restricted to what was
really deleted (``ExpiryPlan.settled``), so the database never calls a missing object ``stored``
for longer than a crash between the two steps; the next sweep finds the same rows again and
finishes them (a missing object counts as deleted). Just before deleting, the plan is checked
once more against events marked keep meanwhile. An object the store keeps locked is skipped and
counted. When the store is unavailable the sweep stops and the next one retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.aio import cancel_and_wait
from hub.config.retention import RetentionSettings
from hub.db.models import Event, MediaState
from hub.events.keep import settle_locks
from hub.retention import rows
from hub.retention.policy import (
    CONTINUOUS_PREFIX,
    ExpiryPlan,
    RetentionDays,
    earliest_cutoff,
    expired_media,
    expired_segments,
)
from hub.retention.quota import Usage, event_media_to_free, quota_alarm, segments_to_free
from storage.base import ObjectStore
from storage.errors import ObjectLocked, ObjectNotFound, StorageUnavailable

log = logging.getLogger(__name__)

Overrides = Mapping[str, Mapping[str, Any] | None]


@dataclass(slots=True)
class SweepReport:
    objects_deleted: int = 0
    clips_expired: int = 0
    snapshots_expired: int = 0
    events_deleted: int = 0
    segments_deleted: int = 0
    quota_freed_bytes: int = 0
    locked_skipped: int = 0  # objects the store refused to delete: locked (WORM)
    locked_example: str = ""
    interrupted: bool = False  # the store failed; the rest waits for the next sweep
    error: str = ""


@dataclass(slots=True)
class QuotaStatus:
    """What the last sweep found; ``alarm`` is set while the quota cannot be met."""

    quota_bytes: int | None = None
    stored_bytes: int | None = None  # None until a sweep has measured it
    kept_bytes: int = 0
    kept_events: int = 0
    alarm: str = ""
    checked_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "quota_bytes": self.quota_bytes,
            "stored_bytes": self.stored_bytes,
            "kept_bytes": self.kept_bytes,
            "kept_events": self.kept_events,
            "quota_exceeded": bool(self.alarm),
            "alarm": self.alarm,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }


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
        self.quota = QuotaStatus(quota_bytes=settings.quota_bytes)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="retention-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def status(self) -> dict[str, Any]:
        """For ``GET /status``: the quota and the last sweep."""
        report = self.last_report
        return {
            **self.quota.as_dict(),
            "last_sweep_interrupted": report.interrupted if report else None,
            "locked_skipped": report.locked_skipped if report else 0,
        }

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once(datetime.now(UTC))
            except Exception:  # the database may be down: log it, try again next interval
                log.exception("retention: sweep failed; retrying in %.0f s", self.settings.sweep_interval_s)
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def sweep_once(self, now: datetime) -> SweepReport:
        """One pass over every event and continuous segment that may have expired at ``now``,
        then the quota."""
        report = SweepReport()
        try:
            await self._settle_locks(now)
            overrides = await rows.camera_overrides(self.sessions)
            await self._sweep_events(now, overrides, report)
            await self._sweep_segments(now, overrides, report)
            await self._enforce_quota(now, report)
        except _StoreDown as err:
            report.interrupted = True
            report.error = str(err)
            log.warning("retention: object store unavailable (%s); the sweep resumes next time", err)
        self.last_report = report
        if report.objects_deleted or report.events_deleted:
            log.info(
                "retention: deleted %d object(s) (%d clip(s), %d snapshot(s), %d segment(s); %d byte(s) "
                "for the quota) and %d event(s)",
                report.objects_deleted,
                report.clips_expired,
                report.snapshots_expired,
                report.segments_deleted,
                report.quota_freed_bytes,
                report.events_deleted,
            )
        if report.locked_skipped:
            log.warning(
                "retention: %d object(s) are locked in the store and were left for now (%s)",
                report.locked_skipped,
                report.locked_example,
            )
        return report

    async def _settle_locks(self, now: datetime) -> None:
        try:
            await settle_locks(
                sessions=self.sessions, store=self.store, now=now, limit=self.settings.batch_size
            )
        except StorageUnavailable as err:
            raise _StoreDown(set(), err) from err

    # -- days ----------------------------------------------------------------------------------

    async def _sweep_events(self, now: datetime, overrides: Overrides, report: SweepReport) -> None:
        cutoff = earliest_cutoff(self.defaults, overrides.values(), now)
        after: rows.Cursor | None = None
        while True:
            batch, sharing, after = await rows.load_events(
                self.sessions, where=[Event.started_at <= cutoff], after=after, limit=self.settings.batch_size
            )
            if after is None:
                return
            plan = expired_media([*batch, *sharing], defaults=self.defaults, overrides=overrides, now=now)
            await self._carry_out(await self._without_kept(plan), report)

    async def _sweep_segments(self, now: datetime, overrides: Overrides, report: SweepReport) -> None:
        try:
            objects = await self.store.list(CONTINUOUS_PREFIX)
        except StorageUnavailable as err:
            raise _StoreDown(set(), err) from err
        keys = expired_segments(objects, defaults=self.defaults, overrides=overrides, now=now)
        await self._delete_segments(keys, report)

    # -- quota ---------------------------------------------------------------------------------

    async def _enforce_quota(self, now: datetime, report: SweepReport) -> None:
        quota = self.settings.quota_bytes
        used = await rows.usage(self.sessions)
        if quota is not None and used.total > quota:
            freed = await self._quota_segments(used.total - quota, report)
            if used.total - freed > quota:
                await self._quota_events(used.total - freed - quota, report)
            used = await rows.usage(self.sessions)
        self._record_quota(used, quota, now)

    async def _quota_segments(self, excess: int, report: SweepReport) -> int:
        freed = 0
        after: rows.Cursor | None = None
        while freed < excess:
            segments, after = await rows.stored_segments(
                self.sessions, after=after, limit=self.settings.batch_size
            )
            if after is None:
                break
            chosen = segments_to_free(segments, excess - freed)
            sizes = {s.key: s.bytes for s in chosen}
            try:
                deleted = await self._delete_segments(list(sizes), report)
            except _StoreDown as err:
                report.quota_freed_bytes += sum(sizes[k] for k in err.deleted)
                raise
            freed += sum(sizes[k] for k in deleted)
            report.quota_freed_bytes += sum(sizes[k] for k in deleted)
        return freed

    async def _quota_events(self, excess: int, report: SweepReport) -> int:
        freed = 0
        after: rows.Cursor | None = None
        stored = or_(Event.clip_state == MediaState.STORED, Event.snapshot_state == MediaState.STORED)
        while freed < excess:
            batch, sharing, after = await rows.load_events(
                self.sessions,
                where=[Event.keep_at.is_(None), stored],
                after=after,
                limit=self.settings.batch_size,
            )
            if after is None:
                break
            choice = event_media_to_free(batch, excess - freed, sharing=sharing)
            plan = await self._without_kept(choice.plan)
            try:
                done = await self._carry_out(plan, report)
            except _StoreDown as err:
                report.quota_freed_bytes += choice.freed(plan.settled(err.deleted))
                raise
            freed += choice.freed(done)
            report.quota_freed_bytes += choice.freed(done)
        return freed

    def _record_quota(self, used: Usage, quota: int | None, now: datetime) -> None:
        alarm = quota_alarm(used, quota) if quota is not None else ""
        if alarm and not self.quota.alarm:
            log.error("retention: %s", alarm)  # once, when it starts; the status shows it meanwhile
        elif self.quota.alarm and not alarm:
            log.info("retention: stored media are within the quota again (%d of %s bytes)", used.total, quota)
        self.quota = QuotaStatus(
            quota_bytes=quota,
            stored_bytes=used.total,
            kept_bytes=used.kept,
            kept_events=used.kept_events,
            alarm=alarm,
            checked_at=now,
        )

    # -- shared steps --------------------------------------------------------------------------

    async def _without_kept(self, plan: ExpiryPlan) -> ExpiryPlan:
        """The plan less events marked keep since it was made (and the clips they use)."""
        events = {*plan.expire_clips, *plan.expire_snapshots, *plan.delete_events}
        if not events:
            return plan
        kept, held = await rows.kept_among(
            self.sessions, event_ids=events, clip_keys=plan.expire_clips.values()
        )
        return plan.without(kept, held) if kept or held else plan

    async def _carry_out(self, plan: ExpiryPlan, report: SweepReport) -> ExpiryPlan:
        """Delete the plan's objects, then write what was really deleted; returns that part."""
        try:
            deleted = await self._delete_objects(plan.deletion_order(), report)
        except _StoreDown as err:
            await self._apply(plan.settled(err.deleted), report)
            report.objects_deleted += len(err.deleted)
            raise
        report.objects_deleted += len(deleted)
        done = plan.settled(deleted)
        await self._apply(done, report)
        return done

    async def _delete_segments(self, keys: Sequence[str], report: SweepReport) -> set[str]:
        try:
            deleted = await self._delete_objects(keys, report)
        except _StoreDown as err:
            await rows.delete_segment_rows(self.sessions, keys=err.deleted)
            report.segments_deleted += len(err.deleted)
            report.objects_deleted += len(err.deleted)
            raise
        await rows.delete_segment_rows(self.sessions, keys=deleted)
        report.segments_deleted += len(deleted)
        report.objects_deleted += len(deleted)
        return deleted

    async def _delete_objects(self, keys: Sequence[str], report: SweepReport) -> set[str]:
        deleted: set[str] = set()
        for key in keys:
            try:
                with contextlib.suppress(ObjectNotFound):  # already gone is as good as deleted
                    await self.store.delete(key)
            except StorageUnavailable as err:
                raise _StoreDown(deleted, err) from err
            except ObjectLocked as err:
                report.locked_skipped += 1
                report.locked_example = report.locked_example or str(err)
                continue
            deleted.add(key)
        return deleted

    async def _apply(self, plan: ExpiryPlan, report: SweepReport) -> None:
        report.events_deleted += await rows.apply_plan(self.sessions, plan)
        report.clips_expired += len(set(plan.expire_clips.values()))
        report.snapshots_expired += len(plan.expire_snapshots)


def retention_status(sweeper: RetentionSweeper | None) -> dict[str, Any]:
    """The sweeper's status, or what a hub whose sweeper is not running shows."""
    if sweeper is None:
        return {**QuotaStatus().as_dict(), "last_sweep_interrupted": None, "locked_skipped": 0}
    return sweeper.status()
