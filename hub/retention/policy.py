"""What retention expires, as pure functions over the facts of events and objects.

Rules (``now`` is the sweep's time; an event's *end* is ``ended_at``, or ``started_at`` if it
never ended):

- A stored clip expires ``event_clip_days`` after the event's end; a clip shared by several
  events (merged clips) expires only when it has expired for every one of them.
- A stored snapshot and its thumbnail expire together ``snapshot_days`` after the event's end.
- Media still being recorded or waiting in the spool (``recording``, ``spooled``) is never touched.
- A kept event (an operator's evidence hold) loses nothing: not its clip (nor a clip it shares
  with other events), not its snapshot, not its row.
- A medium is *gone* when retention deleted it (``expired``), or when there never was one
  (``none``, ``failed``) and its retention ran out. When both are gone the event row is deleted
  with its ticket, but only if that ticket was delivered: an undelivered ticket is never dropped,
  and the row is kept with its media marked ``expired``.
- A continuous-recording segment ``segments/<camera>/...`` expires ``continuous_days`` after
  it was last modified (written).

A camera's ``retention`` JSON overrides the hub's days field by field; a null, missing or
malformed field means the hub's default.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.db.models import EventState, MediaState, TicketState
from storage.base import ObjectInfo

CONTINUOUS_PREFIX = "segments/"  # as hub.events.keys.segment_key lays them out

_LIVE = frozenset({MediaState.RECORDING, MediaState.SPOOLED})  # in the spool: never deleted
_NO_OBJECT = frozenset({MediaState.NONE, MediaState.FAILED})  # nothing was ever stored


@dataclass(frozen=True, slots=True)
class RetentionDays:
    event_clip: int
    snapshot: int
    continuous: int


def _days(override: Mapping[str, Any], name: str, default: int) -> int:
    value = override.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3650:
        return value
    return default


def resolve_days(defaults: RetentionDays, override: Mapping[str, Any] | None) -> RetentionDays:
    """The days that apply to a camera whose ``retention`` column is ``override``."""
    if not override:
        return defaults
    return RetentionDays(
        event_clip=_days(override, "event_clip_days", defaults.event_clip),
        snapshot=_days(override, "snapshot_days", defaults.snapshot),
        continuous=_days(override, "continuous_days", defaults.continuous),
    )


@dataclass(frozen=True, slots=True)
class EventMedia:
    """The facts of one event row that retention looks at."""

    event_id: str
    camera_id: str
    state: EventState
    started_at: datetime
    ended_at: datetime | None
    clip_key: str | None
    clip_state: MediaState
    snapshot_key: str | None
    thumbnail_key: str | None
    snapshot_state: MediaState
    ticket: TicketState | None  # None: no ticket row (yet)
    kept: bool = False  # an operator marked it keep
    clip_bytes: int = 0  # the stored clip's size (shared clips: the same on every event)
    snapshot_bytes: int = 0  # the stored snapshot's and thumbnail's sizes together

    @property
    def end(self) -> datetime:
        return self.ended_at if self.ended_at is not None else self.started_at


@dataclass(frozen=True, slots=True)
class ExpiryPlan:
    """What to delete: objects first, then the rows and fields (see :meth:`settled`)."""

    expire_clips: Mapping[str, str] = field(default_factory=dict)  # event id -> clip key
    # event id -> (thumbnail, snapshot) keys, in the order they are deleted: the snapshot last
    expire_snapshots: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    delete_events: Mapping[str, frozenset[str]] = field(default_factory=dict)  # event id -> keys needed

    @property
    def delete_keys(self) -> frozenset[str]:
        """Every object key to delete from the store."""
        return frozenset(self.deletion_order())

    def deletion_order(self) -> list[str]:
        """The keys to delete, each once: clips, then each thumbnail just before its snapshot, so
        that a sweep cut short never leaves a ``stored`` snapshot row whose snapshot is gone."""
        order = dict.fromkeys(sorted(set(self.expire_clips.values())))
        for event_id in sorted(self.expire_snapshots):
            order.update(dict.fromkeys(self.expire_snapshots[event_id]))
        return list(order)

    @property
    def update_clips(self) -> frozenset[str]:
        """Events kept whose clip is to be marked ``expired``."""
        return frozenset(self.expire_clips) - frozenset(self.delete_events)

    @property
    def update_snapshots(self) -> frozenset[str]:
        """Events kept whose snapshot is to be marked ``expired``."""
        return frozenset(self.expire_snapshots) - frozenset(self.delete_events)

    def without(self, events: Iterable[str], clip_keys: Iterable[str]) -> ExpiryPlan:
        """The plan less everything of ``events`` and every use of ``clip_keys``: for events marked
        keep (and the clips they hold) after the plan was made."""
        skip, held = frozenset(events), frozenset(clip_keys)
        return ExpiryPlan(
            expire_clips={e: k for e, k in self.expire_clips.items() if e not in skip and k not in held},
            expire_snapshots={e: ks for e, ks in self.expire_snapshots.items() if e not in skip},
            delete_events={e: ks for e, ks in self.delete_events.items() if e not in skip and not ks & held},
        )

    def settled(self, deleted: Iterable[str]) -> ExpiryPlan:
        """The part of the plan whose objects are all gone: what may be written after a partial
        delete (the store failed midway), so no row says ``stored`` for a missing object."""
        done = frozenset(deleted)
        return ExpiryPlan(
            expire_clips={e: k for e, k in self.expire_clips.items() if k in done},
            expire_snapshots={e: ks for e, ks in self.expire_snapshots.items() if done.issuperset(ks)},
            delete_events={e: ks for e, ks in self.delete_events.items() if ks <= done},
        )


def _clip_expired(event: EventMedia, days: RetentionDays, now: datetime) -> bool:
    return now >= event.end + timedelta(days=days.event_clip)


def _clip_done(event: EventMedia, days: RetentionDays, now: datetime) -> bool:
    """Whether this event no longer needs its (maybe shared) clip object."""
    if event.kept:
        return False
    if event.clip_state is MediaState.EXPIRED:
        return True
    return event.clip_state is MediaState.STORED and _clip_expired(event, days, now)


def _snapshot_expired(event: EventMedia, days: RetentionDays, now: datetime) -> bool:
    return now >= event.end + timedelta(days=days.snapshot)


def expired_media(
    events: Iterable[EventMedia],
    *,
    defaults: RetentionDays,
    overrides: Mapping[str, Mapping[str, Any] | None],
    now: datetime,
) -> ExpiryPlan:
    """The plan for ``events``; ``overrides`` maps a camera id to its ``retention`` column.

    Every event that shares a clip key with one of ``events`` must be among them, or a shared
    clip could be deleted while another event still keeps it.
    """
    rows = list(events)
    days = {e.event_id: resolve_days(defaults, overrides.get(e.camera_id)) for e in rows}

    by_clip: dict[str, list[EventMedia]] = defaultdict(list)
    for event in rows:
        if event.clip_key is not None:
            by_clip[event.clip_key].append(event)
    expired_clip_keys = {
        key for key, sharing in by_clip.items() if all(_clip_done(e, days[e.event_id], now) for e in sharing)
    }

    expire_clips: dict[str, str] = {}
    expire_snapshots: dict[str, tuple[str, ...]] = {}
    delete_events: dict[str, frozenset[str]] = {}
    for event in rows:
        if event.kept:
            continue
        d = days[event.event_id]
        needed: set[str] = set()
        if event.clip_state is MediaState.STORED and event.clip_key in expired_clip_keys:
            expire_clips[event.event_id] = event.clip_key
            needed.add(event.clip_key)
            clip_gone = True
        else:
            clip_gone = event.clip_state is MediaState.EXPIRED or (
                event.clip_state in _NO_OBJECT and _clip_expired(event, d, now)
            )
        if event.snapshot_state is MediaState.STORED and _snapshot_expired(event, d, now):
            keys = tuple(k for k in (event.thumbnail_key, event.snapshot_key) if k is not None)
            expire_snapshots[event.event_id] = keys
            needed.update(keys)
            snapshot_gone = True
        else:
            snapshot_gone = event.snapshot_state is MediaState.EXPIRED or (
                event.snapshot_state in _NO_OBJECT and _snapshot_expired(event, d, now)
            )
        if (
            clip_gone
            and snapshot_gone
            and event.state is EventState.CLOSED
            and event.ticket is TicketState.DELIVERED
        ):
            delete_events[event.event_id] = frozenset(needed)
    return ExpiryPlan(expire_clips, expire_snapshots, delete_events)


def segment_camera(key: str) -> str | None:
    """The camera of a continuous-recording key ``segments/<camera>/...``, else None."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != CONTINUOUS_PREFIX:
        return None
    return parts[1]


def expired_segments(
    objects: Iterable[ObjectInfo],
    *,
    defaults: RetentionDays,
    overrides: Mapping[str, Mapping[str, Any] | None],
    now: datetime,
) -> list[str]:
    """Keys of the continuous-recording segments among ``objects`` that have expired, sorted."""
    expired = []
    for info in objects:
        camera = segment_camera(info.key)
        if camera is None:
            continue
        days = resolve_days(defaults, overrides.get(camera)).continuous
        if now >= info.last_modified + timedelta(days=days):
            expired.append(info.key)
    return sorted(expired)


def earliest_cutoff(
    defaults: RetentionDays, overrides: Iterable[Mapping[str, Any] | None], now: datetime
) -> datetime:
    """No event that started after this can have anything expired at ``now``."""
    shortest = min(defaults.event_clip, defaults.snapshot)
    for override in overrides:
        days = resolve_days(defaults, override)
        shortest = min(shortest, days.event_clip, days.snapshot)
    return now - timedelta(days=shortest)
