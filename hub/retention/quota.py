"""The storage quota, as pure functions: which media go when the stored bytes exceed the quota.

Rules (sizes come from the database rows, never from listing the store):

- Continuous segments go first, oldest first (by start), until the excess is freed.
- Then event media, oldest event first (by start): its clip, snapshot and thumbnail together.
- Never the media of a kept event, nor media whose event is open or whose ticket is not
  delivered (the grid system has yet to fetch it), nor media still in the spool.
- A clip shared by several events (merged clips) goes only when every one of them may lose it;
  its bytes count once.
- Rows are kept, with their media marked ``expired``; days-based retention removes them later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hub.db.models import EventState, MediaState, TicketState
from hub.retention.policy import EventMedia, ExpiryPlan


@dataclass(frozen=True, slots=True)
class StoredSegment:
    key: str
    bytes: int
    start_at: datetime


@dataclass(frozen=True, slots=True)
class Usage:
    """Bytes in the store by kind, and how many of them kept events hold."""

    segments: int = 0
    clips: int = 0
    snapshots: int = 0  # snapshots and thumbnails
    kept: int = 0
    kept_events: int = 0

    @property
    def total(self) -> int:
        return self.segments + self.clips + self.snapshots


@dataclass(frozen=True, slots=True)
class QuotaChoice:
    """Event media to delete for the quota, with the bytes each part frees."""

    plan: ExpiryPlan = field(default_factory=ExpiryPlan)
    clip_bytes: Mapping[str, int] = field(default_factory=dict)  # clip key -> bytes
    snapshot_bytes: Mapping[str, int] = field(default_factory=dict)  # event id -> bytes

    def freed(self, plan: ExpiryPlan | None = None) -> int:
        """Bytes freed by ``plan`` (a settled or trimmed part of :attr:`plan`; default all of it)."""
        done = self.plan if plan is None else plan
        clips = sum(self.clip_bytes.get(k, 0) for k in set(done.expire_clips.values()))
        return clips + sum(self.snapshot_bytes.get(e, 0) for e in done.expire_snapshots)


def segments_to_free(segments: Iterable[StoredSegment], excess: int) -> list[StoredSegment]:
    """The oldest segments whose bytes together reach ``excess`` (all of them if they fall short)."""
    chosen: list[StoredSegment] = []
    freed = 0
    for segment in sorted(segments, key=lambda s: (s.start_at, s.key)):
        if freed >= excess:
            break
        chosen.append(segment)
        freed += segment.bytes
    return chosen


def removable(event: EventMedia) -> bool:
    """Whether the quota may take this event's media at all."""
    return not event.kept and event.state is EventState.CLOSED and event.ticket is TicketState.DELIVERED


def event_media_to_free(
    events: Iterable[EventMedia], excess: int, *, sharing: Iterable[EventMedia] = ()
) -> QuotaChoice:
    """The media of the oldest of ``events`` that free ``excess`` bytes (or all that may go).

    ``sharing`` holds every other event that shares a clip with one of ``events``: they decide
    whether a shared clip may go, and are marked with it, but are not chosen for themselves.
    """
    candidates = sorted(events, key=lambda e: (e.started_at, e.event_id))
    by_clip: dict[str, list[EventMedia]] = defaultdict(list)
    for event in (*candidates, *sharing):
        if event.clip_key is not None:
            by_clip[event.clip_key].append(event)
    expire_clips: dict[str, str] = {}
    expire_snapshots: dict[str, tuple[str, ...]] = {}
    clip_bytes: dict[str, int] = {}
    snapshot_bytes: dict[str, int] = {}
    freed = 0
    for event in candidates:
        if freed >= excess:
            break
        if not removable(event):
            continue
        key = event.clip_key
        if key is not None and event.clip_state is MediaState.STORED and key not in clip_bytes:
            others = by_clip[key]
            if all(removable(e) and e.clip_state in (MediaState.STORED, MediaState.EXPIRED) for e in others):
                clip_bytes[key] = event.clip_bytes
                freed += event.clip_bytes
                expire_clips.update({e.event_id: key for e in others if e.clip_state is MediaState.STORED})
        if event.snapshot_state is MediaState.STORED:
            keys = tuple(k for k in (event.thumbnail_key, event.snapshot_key) if k is not None)
            if keys:
                expire_snapshots[event.event_id] = keys
                snapshot_bytes[event.event_id] = event.snapshot_bytes
                freed += event.snapshot_bytes
    plan = ExpiryPlan(expire_clips=expire_clips, expire_snapshots=expire_snapshots)
    return QuotaChoice(plan, clip_bytes, snapshot_bytes)


def quota_alarm(usage: Usage, quota: int) -> str:
    """The operator's message when the quota cannot be met after a sweep, else ''."""
    if usage.total <= quota:
        return ""
    return (
        f"storage quota cannot be met: {_size(usage.total)} stored, quota {_size(quota)}; "
        f"{_size(usage.kept)} is held by {usage.kept_events} kept event(s), the rest by media "
        "whose tickets are not delivered yet or that the store keeps locked; release kept events, "
        "check ticket delivery, or raise retention.quota_bytes"
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
