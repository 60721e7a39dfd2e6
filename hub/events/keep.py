"""Evidence keep: an operator holds an event's clip, snapshot and thumbnail against retention and
the quota and, with ``storage.object_lock`` on, locks them in the object store (WORM).

The writes are ordered so that no object is locked without a row saying so, and no kept medium
stays unlocked for good:

- keep: the row first (from then on the sweeper leaves the media alone), then the locks on the
  stored objects. Media still in the spool are locked right after their upload
  (:func:`media_uploaded`, on the uploader's stored hook).
- release: the row goes to ``releasing`` (the upload hook stops locking its media), the locks are
  lifted, then the hold is cleared. A store outage leaves it ``releasing``; :func:`settle_locks`
  (run by every retention sweep) finishes it, and retries locks left ``pending``.

An event's lock state is worked out again from all of its stored media on every pass, so each
step can be repeated safely.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config.storage import ObjectLockMode, ObjectLockSettings
from hub.db.models import Event, KeepLock, MediaState
from storage.base import LockMode, ObjectLock, ObjectStore, whole_second
from storage.errors import LockUnsupported, ObjectLocked, ObjectNotFound, StorageError, StorageUnavailable

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]

SNAPSHOT_PREFIX = "snapshots/"  # as hub.events.keys lays them out
THUMBNAIL_PREFIX = "thumbnails/"
_WAITING = frozenset({MediaState.RECORDING, MediaState.SPOOLED})  # not in the store yet
_HELD = (KeepLock.NONE, KeepLock.PENDING, KeepLock.LOCKED, KeepLock.FAILED)  # kept, not releasing


class KeepError(Exception):
    """Base of the errors an operator's keep or release request can meet."""


class EventNotFound(KeepError):
    pass


class AlreadyKept(KeepError):
    """The event is kept already, by someone else or for another reason (or is being released)."""

    def __init__(self, message: str, event: Event) -> None:
        super().__init__(message)
        self.event = event


class NotReleasable(KeepError):
    """A compliance lock cannot be released before its date."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


def planned_lock(
    settings: ObjectLockSettings, now: datetime
) -> tuple[ObjectLockMode | None, datetime | None]:
    """The lock mode and retention date that marking keep at ``now`` gives (None, None: no lock)."""
    if not settings.enabled:
        return None, None
    if settings.mode is ObjectLockMode.LEGAL_HOLD:
        return settings.mode, None
    return settings.mode, whole_second(now + timedelta(days=settings.days))


def object_lock_of(event: Event) -> ObjectLock | None:
    """The store lock the event's keep asks for, as fixed when it was marked."""
    mode = event.keep_lock_mode
    if mode is None:
        return None
    if mode is ObjectLockMode.LEGAL_HOLD:
        return ObjectLock(legal_hold=True)
    return ObjectLock(LockMode(mode.value), event.keep_until)


def stored_keys(event: Event) -> list[str]:
    """The event's objects in the store now: clip, thumbnail, snapshot."""
    keys = []
    if event.clip_state is MediaState.STORED and event.clip_key is not None:
        keys.append(event.clip_key)
    if event.snapshot_state is MediaState.STORED:
        keys += [k for k in (event.thumbnail_key, event.snapshot_key) if k is not None]
    return keys


def _waiting(event: Event) -> bool:
    return event.clip_state in _WAITING or event.snapshot_state in _WAITING


async def _load(sessions: Sessions, event_id: str) -> Event:
    async with sessions() as session:
        event = await session.get(Event, event_id)
    if event is None:
        raise EventNotFound(f"no event {event_id!r}")
    return event


async def mark_keep(
    *,
    sessions: Sessions,
    store: ObjectStore,
    settings: ObjectLockSettings,
    event_id: str,
    by: str,
    reason: str,
    now: datetime,
) -> Event:
    """Keep the event (idempotent for the same ``by`` and ``reason``); lock what is stored."""
    mode: ObjectLockMode | None = None
    async with sessions.begin() as session:
        event = await session.get(Event, event_id, with_for_update=True)
        if event is None:
            raise EventNotFound(f"no event {event_id!r}")
        kept_already = event.keep_at is not None
        if kept_already:
            conflict = _keep_conflict(event, by, reason)
        else:
            mode, until = planned_lock(settings, now)
            event.keep_at, event.keep_by, event.keep_reason = now, by, reason
            event.keep_lock_mode, event.keep_until = mode, until
            event.keep_lock_state = KeepLock.NONE if mode is None else KeepLock.PENDING
            event.keep_lock_error = ""
            camera_id = event.camera_id
    if kept_already:
        current = await _load(sessions, event_id)
        if conflict:
            raise AlreadyKept(conflict, current)
        return current  # the same request again
    log.warning("%s: event %s marked keep by %r: %s", camera_id, event_id, by, reason)
    if mode is not None:
        await _lock_event(sessions, store, event_id, now)
    return await _load(sessions, event_id)


def _keep_conflict(event: Event, by: str, reason: str) -> str:
    """Why keeping an event that is kept already is refused, or '' for the same keep again."""
    if event.keep_lock_state is KeepLock.RELEASING:
        return f"event {event.id} is being released; keep it again once that is done"
    if (event.keep_by, event.keep_reason) == (by, reason):
        return ""
    assert event.keep_at is not None
    return (
        f"event {event.id} is kept already, since {event.keep_at:%Y-%m-%dT%H:%M:%SZ} by "
        f"{event.keep_by!r}; release it first to keep it for another reason"
    )


async def release_keep(*, sessions: Sessions, store: ObjectStore, event_id: str, now: datetime) -> Event:
    """Release the keep (idempotent). Raises NotReleasable for a compliance lock before its date,
    and a StorageError when the locks cannot be lifted now: the event stays ``releasing`` (still
    kept), and the next sweep, or the same request again, finishes the release."""
    async with sessions.begin() as session:
        event = await session.get(Event, event_id, with_for_update=True)
        if event is None:
            raise EventNotFound(f"no event {event_id!r}")
        kept, until = event.keep_at is not None, event.keep_until
        compliance = event.keep_lock_mode is ObjectLockMode.COMPLIANCE
        if kept and not (compliance and until is not None and until > now):
            event.keep_lock_state = KeepLock.RELEASING
    if kept and compliance and until is not None and until > now:
        raise NotReleasable(
            f"event {event_id} is under a compliance lock until {until:%Y-%m-%dT%H:%M:%SZ}; "
            "nobody can release it before then",
            until,
        )
    if kept:
        await _finish_release(sessions, store, event_id, now)
    return await _load(sessions, event_id)


async def media_uploaded(
    *, sessions: Sessions, store: ObjectStore, key: str, size: int, now: datetime | None = None
) -> None:
    """The uploader stored ``key`` (``size`` bytes): record a snapshot's or thumbnail's size for
    the quota, and lock the object if its event is kept. Raises StorageUnavailable when the lock
    could not be applied, so the uploader keeps the file and tries again."""
    at = now or datetime.now(UTC)
    async with sessions.begin() as session:
        if key.startswith(SNAPSHOT_PREFIX):
            await session.execute(update(Event).where(Event.snapshot_key == key).values(snapshot_bytes=size))
        elif key.startswith(THUMBNAIL_PREFIX):
            await session.execute(
                update(Event).where(Event.thumbnail_key == key).values(thumbnail_bytes=size)
            )
        kept = select(Event.id).where(
            Event.keep_lock_state == KeepLock.PENDING,
            or_(Event.clip_key == key, Event.snapshot_key == key, Event.thumbnail_key == key),
        )
        event_ids = list((await session.scalars(kept)).all())
    for event_id in event_ids:
        unavailable = await _lock_event(sessions, store, event_id, at)
        if unavailable is not None:
            raise unavailable


async def settle_locks(*, sessions: Sessions, store: ObjectStore, now: datetime, limit: int = 500) -> int:
    """Retry the locks of events left ``pending`` and finish releases left ``releasing``; returns
    how many events were looked at. Raises StorageUnavailable if a release cannot go on."""
    async with sessions() as session:
        pending = (
            await session.scalars(
                select(Event.id).where(Event.keep_lock_state == KeepLock.PENDING).limit(limit)
            )
        ).all()
        releasing = (
            await session.execute(
                select(Event.id, Event.camera_id)
                .where(Event.keep_lock_state == KeepLock.RELEASING)
                .limit(limit)
            )
        ).all()
    for event_id in pending:
        await _lock_event(sessions, store, event_id, now)
    for event_id, camera_id in releasing:
        try:
            await _finish_release(sessions, store, event_id, now)
        except StorageUnavailable:
            raise
        except StorageError as err:  # this event's store refuses (e.g. credentials): the others go on
            log.error(
                "%s: event %s: its release is stuck, the locks could not be lifted: %s",
                camera_id,
                event_id,
                err,
            )
    return len(pending) + len(releasing)


async def _lock_event(
    sessions: Sessions, store: ObjectStore, event_id: str, now: datetime
) -> StorageUnavailable | None:
    """Lock every stored medium of a kept event and record the outcome; returns the outage that
    stopped it, if one did (the state stays ``pending``)."""
    async with sessions() as session:
        event = await session.get(Event, event_id)
    if event is None or event.keep_lock_state not in (KeepLock.PENDING, KeepLock.LOCKED):
        return None
    lock = object_lock_of(event)
    if lock is None:
        return None
    keys = stored_keys(event)
    unavailable: StorageUnavailable | None = None
    not_yet = False
    error = ""
    locked: list[str] = []
    if lock.retain_until is not None and lock.retain_until <= now:
        keys = []  # the lock's days ran out before these media were stored: nothing left to lock
    try:
        for key in keys:
            try:
                # ObjectLocked: held already, at least as firmly (a shared clip another event keeps).
                with contextlib.suppress(ObjectLocked):
                    await store.lock(key, lock)
            except ObjectNotFound:
                if key != event.thumbnail_key:
                    raise
                not_yet = True  # queued after its snapshot, whose row is what says stored
                continue
            locked.append(key)
    except StorageUnavailable as err:
        unavailable, error = err, f"object store unavailable: {err}"
        state = KeepLock.PENDING
    except (LockUnsupported, ObjectNotFound, StorageError) as err:
        error, state = str(err), KeepLock.FAILED
        log.error(
            "%s: event %s is kept but its media could not be locked: %s", event.camera_id, event_id, err
        )
    else:
        state = KeepLock.PENDING if not_yet or _waiting(event) else KeepLock.LOCKED
    async with sessions.begin() as session:
        row = await session.get(Event, event_id, with_for_update=True)
        still_kept = row is not None and row.keep_lock_state in (KeepLock.PENDING, KeepLock.LOCKED)
        if row is not None and still_kept:
            row.keep_lock_state, row.keep_lock_error = state, error
    if not still_kept:
        if locked:  # released while we locked: the release may have lifted its locks before ours
            try:
                await _unlock_keys(store, event, locked)
            except StorageError as err:
                log.warning(
                    "%s: event %s was released; lifting its new locks failed: %s",
                    event.camera_id,
                    event_id,
                    err,
                )
        return None
    if state is KeepLock.LOCKED and event.keep_lock_state is not KeepLock.LOCKED:
        log.info(
            "%s: event %s is locked in the object store (%s)", event.camera_id, event_id, lock.describe(now)
        )
    return unavailable


async def _finish_release(sessions: Sessions, store: ObjectStore, event_id: str, now: datetime) -> None:
    async with sessions() as session:
        event = await session.get(Event, event_id)
        if event is None or event.keep_lock_state is not KeepLock.RELEASING:
            return
        shared = await _kept_elsewhere(session, event)
    if event.keep_lock_mode is not None:
        try:
            await _unlock_keys(store, event, [k for k in stored_keys(event) if k not in shared])
        except StorageError as err:
            async with sessions.begin() as session:
                await session.execute(
                    update(Event)
                    .where(Event.id == event_id, Event.keep_lock_state == KeepLock.RELEASING)
                    .values(keep_lock_error=f"releasing: the locks could not be lifted yet: {err}")
                )
            raise
    async with sessions.begin() as session:
        row = await session.get(Event, event_id, with_for_update=True)
        if row is None or row.keep_lock_state is not KeepLock.RELEASING:
            return
        row.details = {
            **row.details,
            "released_keep": {
                "by": row.keep_by,
                "reason": row.keep_reason,
                "at": row.keep_at.isoformat() if row.keep_at else None,
                "released_at": now.isoformat(),
            },
        }
        row.keep_at = row.keep_by = row.keep_reason = row.keep_until = None
        row.keep_lock_mode = None
        row.keep_lock_state, row.keep_lock_error = KeepLock.NONE, ""
    log.warning("%s: event %s released from keep", event.camera_id, event_id)


async def _kept_elsewhere(session: AsyncSession, event: Event) -> set[str]:
    """The event's clip key if another kept event shares that clip (its lock must stay)."""
    if event.clip_key is None:
        return set()
    other = await session.scalar(
        select(Event.id)
        .where(
            Event.clip_key == event.clip_key,
            Event.id != event.id,
            Event.keep_at.is_not(None),
            Event.keep_lock_state.in_(_HELD),
        )
        .limit(1)
    )
    return {event.clip_key} if other is not None else set()


async def _unlock_keys(store: ObjectStore, event: Event, keys: Sequence[str]) -> None:
    """Lift the locks on ``keys``. A missing object or a store that cannot lock is skipped, a
    compliance retention from elsewhere logged; any other storage error goes to the caller."""
    for key in keys:
        try:
            await store.unlock(key)
        except (ObjectNotFound, LockUnsupported):
            continue  # gone, or never lockable: nothing to lift
        except ObjectLocked as err:  # a compliance retention from elsewhere: it lapses on its date
            log.warning("%s: event %s: %s", event.camera_id, event.id, err)
