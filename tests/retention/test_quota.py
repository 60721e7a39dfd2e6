"""The quota's choice as pure functions: what goes, in which order, and the alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.db.models import EventState, MediaState, TicketState
from hub.retention.policy import EventMedia, ExpiryPlan
from hub.retention.quota import (
    StoredSegment,
    Usage,
    event_media_to_free,
    quota_alarm,
    removable,
    segments_to_free,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
STORED, SPOOLED, EXPIRED = MediaState.STORED, MediaState.SPOOLED, MediaState.EXPIRED
DELIVERED, PENDING = TicketState.DELIVERED, TicketState.PENDING
MIB = 1024 * 1024


def seg(name: str, hour: int, size: int = 100) -> StoredSegment:
    return StoredSegment(
        key=f"segments/cam/2026/01/01/{name}.mp4", bytes=size, start_at=T0 + timedelta(hours=hour)
    )


def ev(
    event_id: str,
    minute: int,
    *,
    kept: bool = False,
    ticket: TicketState | None = DELIVERED,
    state: EventState = EventState.CLOSED,
    clip: MediaState = STORED,
    snapshot: MediaState = STORED,
    clip_key: str | None = None,
    clip_bytes: int = 1000,
    snapshot_bytes: int = 50,
) -> EventMedia:
    started = T0 + timedelta(minutes=minute)
    return EventMedia(
        event_id=event_id,
        camera_id="cam",
        state=state,
        started_at=started,
        ended_at=started + timedelta(seconds=10),
        clip_key=clip_key or f"clips/cam/{event_id}.mp4",
        clip_state=clip,
        snapshot_key=f"snapshots/cam/{event_id}.jpg",
        thumbnail_key=f"thumbnails/cam/{event_id}.jpg",
        snapshot_state=snapshot,
        ticket=ticket,
        kept=kept,
        clip_bytes=clip_bytes,
        snapshot_bytes=snapshot_bytes,
    )


def snaps(event_id: str) -> tuple[str, str]:
    return (f"thumbnails/cam/{event_id}.jpg", f"snapshots/cam/{event_id}.jpg")


def test_segments_go_oldest_first_until_the_excess_is_freed() -> None:
    s1, s2, s3 = seg("a", 0), seg("b", 1), seg("c", 2)
    assert segments_to_free([s3, s1, s2], 150) == [s1, s2]
    assert segments_to_free([s3, s1, s2], 100) == [s1]
    assert segments_to_free([s3, s1, s2], 0) == []
    assert segments_to_free([s3, s1, s2], 10_000) == [s1, s2, s3]


def test_who_the_quota_may_take_from() -> None:
    assert removable(ev("a", 0))
    assert not removable(ev("b", 0, kept=True))
    assert not removable(ev("c", 0, ticket=PENDING))
    assert not removable(ev("d", 0, ticket=None))
    assert not removable(ev("e", 0, state=EventState.OPEN, ticket=None))


def test_event_media_go_oldest_first_never_kept_nor_undelivered() -> None:
    events = [
        ev("g", 60),
        ev("f", 50),
        ev("a", 0, kept=True),
        ev("b", 10, ticket=PENDING),
        ev("c", 20, ticket=None),
        ev("e", 40),
    ]

    choice = event_media_to_free(events, 1100)

    assert choice.plan == ExpiryPlan(
        expire_clips={"e": "clips/cam/e.mp4", "f": "clips/cam/f.mp4"},
        expire_snapshots={"e": snaps("e"), "f": snaps("f")},
    )
    assert choice.freed() == 2100
    assert choice.plan.delete_events == {}  # rows stay; days-based retention removes them later


def test_exactly_enough_stops_after_one_event() -> None:
    choice = event_media_to_free([ev("b", 10), ev("a", 0)], 1050)
    assert (set(choice.plan.expire_clips), set(choice.plan.expire_snapshots), choice.freed()) == (
        {"a"},
        {"a"},
        1050,
    )


def test_a_shared_clip_goes_only_when_every_event_on_it_may_lose_it() -> None:
    shared = "clips/cam/merged.mp4"
    held = event_media_to_free(
        [ev("x", 0, clip_key=shared)], 10_000, sharing=[ev("y", 5, clip_key=shared, kept=True)]
    )
    assert held.plan == ExpiryPlan(expire_snapshots={"x": snaps("x")})
    assert held.freed() == 50

    both = event_media_to_free([ev("x", 0, clip_key=shared), ev("y", 5, clip_key=shared)], 10_000)
    assert both.plan.expire_clips == {"x": shared, "y": shared}
    assert both.freed() == 1000 + 50 + 50  # the shared clip counts once


def test_a_sibling_outside_the_batch_is_marked_but_not_chosen_for_itself() -> None:
    shared = "clips/cam/merged.mp4"
    choice = event_media_to_free(
        [ev("x", 0, clip_key=shared)], 10_000, sharing=[ev("y", 90, clip_key=shared)]
    )
    assert choice.plan == ExpiryPlan(
        expire_clips={"x": shared, "y": shared}, expire_snapshots={"x": snaps("x")}
    )


def test_media_in_the_spool_or_gone_already_are_left() -> None:
    events = [
        ev("a", 0, clip=SPOOLED, snapshot=SPOOLED),
        ev("b", 1, clip=EXPIRED),  # its snapshot still counts
        ev("c", 2, snapshot=MediaState.NONE),
    ]
    choice = event_media_to_free(events, 10_000)
    assert choice.plan == ExpiryPlan(
        expire_clips={"c": "clips/cam/c.mp4"}, expire_snapshots={"b": snaps("b")}
    )
    assert choice.freed() == 1050


def test_freed_counts_only_the_settled_part() -> None:
    choice = event_media_to_free([ev("a", 0), ev("b", 1)], 10_000)
    settled = choice.plan.settled({"clips/cam/a.mp4", *snaps("b")})
    assert choice.freed(settled) == 1000 + 50


def test_the_alarm_names_the_figures_and_what_to_do() -> None:
    usage = Usage(segments=0, clips=90 * MIB, snapshots=10 * MIB, kept=95 * MIB, kept_events=3)
    assert usage.total == 100 * MIB
    assert quota_alarm(usage, 100 * MIB) == ""
    assert quota_alarm(usage, 64 * MIB) == (
        "storage quota cannot be met: 100.0 MiB stored, quota 64.0 MiB; 95.0 MiB is held by 3 kept "
        "event(s), the rest by media whose tickets are not delivered yet or that the store keeps locked; "
        "release kept events, check ticket delivery, or raise retention.quota_bytes"
    )
    assert "12 B stored" in quota_alarm(Usage(clips=12), 1)
