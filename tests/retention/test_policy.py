"""Retention rules as pure functions: exact plans for a table of events, cameras and tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.db.models import EventState, MediaState, TicketState
from hub.retention.policy import (
    EventMedia,
    ExpiryPlan,
    RetentionDays,
    earliest_cutoff,
    expired_media,
    expired_segments,
    resolve_days,
)
from storage.base import ObjectInfo

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DEFAULTS = RetentionDays(event_clip=30, snapshot=30, continuous=7)
STORED, SPOOLED, NONE, EXPIRED = MediaState.STORED, MediaState.SPOOLED, MediaState.NONE, MediaState.EXPIRED
DELIVERED, PENDING = TicketState.DELIVERED, TicketState.PENDING
OVERRIDES: dict[str, dict[str, Any] | None] = {
    "cam": None,
    "short": {"event_clip_days": 1},  # clips kept one day, snapshots the default 30
    "long": {"event_clip_days": 90, "snapshot_days": 60, "continuous_days": None},
}


def event(
    event_id: str,
    *,
    camera: str = "cam",
    ended: timedelta | None = timedelta(minutes=1),
    clip: MediaState = STORED,
    snapshot: MediaState = STORED,
    ticket: TicketState | None = DELIVERED,
    clip_key: str | None = None,
    state: EventState = EventState.CLOSED,
    kept: bool = False,
) -> EventMedia:
    """An event that started at T0 and (unless ``ended`` is None) ended ``ended`` later."""
    return EventMedia(
        event_id=event_id,
        camera_id=camera,
        state=state,
        started_at=T0,
        ended_at=None if ended is None else T0 + ended,
        clip_key=clip_key or f"clips/{camera}/{event_id}.mp4",
        clip_state=clip,
        snapshot_key=f"snapshots/{camera}/{event_id}.jpg",
        thumbnail_key=f"thumbnails/{camera}/{event_id}.jpg",
        snapshot_state=snapshot,
        ticket=ticket,
        kept=kept,
    )


def media(event_id: str, camera: str = "cam") -> frozenset[str]:
    return frozenset(
        {
            f"clips/{camera}/{event_id}.mp4",
            f"snapshots/{camera}/{event_id}.jpg",
            f"thumbnails/{camera}/{event_id}.jpg",
        }
    )


def snaps(event_id: str, camera: str = "cam") -> tuple[str, str]:
    """Thumbnail, then snapshot: the order they are deleted in."""
    return (f"thumbnails/{camera}/{event_id}.jpg", f"snapshots/{camera}/{event_id}.jpg")


def plan(*events: EventMedia, at: timedelta) -> ExpiryPlan:
    return expired_media(events, defaults=DEFAULTS, overrides=OVERRIDES, now=T0 + at)


TABLE = [
    event("a"),  # plain event, ticket delivered
    event("b", ticket=PENDING),  # undelivered ticket
    event("c", camera="short"),  # clip kept one day
    event("d", camera="long"),  # clip 90 days, snapshot 60
    event("e", clip=SPOOLED),  # clip still in the spool
    event("f", ended=None, state=EventState.OPEN, clip=MediaState.RECORDING, snapshot=NONE, ticket=None),
    event("g", ended=timedelta(days=5)),  # a long event: counted from its end
    event("h", clip=NONE, snapshot=NONE),  # a status event without media
]


def test_nothing_expires_before_the_shortest_retention() -> None:
    assert plan(*TABLE, at=timedelta(hours=23)) == ExpiryPlan()


def test_short_camera_loses_only_its_clip_after_one_day() -> None:
    result = plan(*TABLE, at=timedelta(days=1, minutes=1))
    assert result.expire_clips == {"c": "clips/short/c.mp4"}
    assert result.expire_snapshots == {}
    assert result.delete_events == {}
    assert result.delete_keys == {"clips/short/c.mp4"}
    assert result.update_clips == {"c"}


def test_expiry_counts_from_the_end_of_the_event() -> None:
    just_before = plan(*TABLE, at=timedelta(days=30, seconds=59))
    assert set(just_before.expire_clips) == {"c"}
    at_end = plan(*TABLE, at=timedelta(days=30, minutes=1))
    assert set(at_end.expire_clips) == {"a", "b", "c"}


def test_after_31_days() -> None:
    result = plan(*TABLE, at=timedelta(days=31))
    assert result.expire_clips == {
        "a": "clips/cam/a.mp4",
        "b": "clips/cam/b.mp4",
        "c": "clips/short/c.mp4",
    }
    assert result.expire_snapshots == {
        "a": snaps("a"),
        "b": snaps("b"),
        "c": snaps("c", "short"),
        "e": snaps("e"),  # the snapshot is stored even though the clip still waits in the spool
    }
    # b's ticket is not delivered: its row stays, media marked expired; e's clip is in the spool.
    assert result.delete_events == {
        "a": media("a"),
        "c": frozenset({*snaps("c", "short"), "clips/short/c.mp4"}),
        "h": frozenset(),
    }
    assert result.update_clips == {"b"}
    assert result.update_snapshots == {"b", "e"}
    assert result.delete_keys == media("a") | media("b") | media("c", "short") | set(snaps("e"))


def test_after_a_year_everything_goes_but_spool_open_and_undelivered() -> None:
    result = plan(*TABLE, at=timedelta(days=365))
    assert set(result.expire_clips) == {"a", "b", "c", "d", "g"}
    assert set(result.expire_snapshots) == {"a", "b", "c", "d", "e", "g"}
    assert set(result.delete_events) == {"a", "c", "d", "g", "h"}
    assert result.update_snapshots == {"b", "e"}


def test_ended_long_event_waits_for_its_end() -> None:
    assert "g" not in plan(*TABLE, at=timedelta(days=34)).expire_clips
    assert plan(*TABLE, at=timedelta(days=35)).delete_events.keys() >= {"g"}


def test_never_ended_event_counts_from_its_start() -> None:
    stuck = event("s", ended=None)
    assert plan(stuck, at=timedelta(days=30)).delete_events == {"s": media("s")}


def test_already_expired_row_goes_once_its_ticket_is_delivered() -> None:
    kept = event("b", clip=EXPIRED, snapshot=EXPIRED, ticket=PENDING)
    assert plan(kept, at=timedelta(days=100)) == ExpiryPlan()
    delivered = event("b", clip=EXPIRED, snapshot=EXPIRED, ticket=DELIVERED)
    result = plan(delivered, at=timedelta(days=100))
    assert result.delete_events == {"b": frozenset()}
    assert result.delete_keys == frozenset()


def test_missing_ticket_keeps_the_row() -> None:
    result = plan(event("x", ticket=None), at=timedelta(days=31))
    assert result.delete_events == {}
    assert result.update_clips == {"x"}


def test_shared_clip_goes_only_when_every_event_is_done_with_it() -> None:
    shared = "clips/cam/merged.mp4"
    early = event("p", clip_key=shared)
    late = event("q", clip_key=shared, ended=timedelta(days=3))
    result = plan(early, late, at=timedelta(days=31))
    assert result.expire_clips == {}
    assert result.expire_snapshots == {"p": snaps("p")}
    result = plan(early, late, at=timedelta(days=33))
    assert result.expire_clips == {"p": shared, "q": shared}
    assert result.delete_keys == {shared, *snaps("p"), *snaps("q")}
    assert result.deletion_order() == [shared, *snaps("p"), *snaps("q")]


def test_settled_keeps_only_what_was_really_deleted() -> None:
    result = plan(event("a"), event("b", ticket=PENDING), at=timedelta(days=31))
    partial = result.settled({"clips/cam/a.mp4", "clips/cam/b.mp4", "snapshots/cam/b.jpg"})
    assert partial.expire_clips == {"a": "clips/cam/a.mp4", "b": "clips/cam/b.mp4"}
    assert partial.expire_snapshots == {}  # b's thumbnail is still there
    assert partial.delete_events == {}  # a's snapshot is still there
    assert partial.update_clips == {"a", "b"}
    assert result.settled(result.delete_keys) == result
    assert result.settled(set()) == ExpiryPlan()


def test_a_kept_event_loses_nothing_however_old() -> None:
    assert plan(event("k", kept=True), at=timedelta(days=3650)) == ExpiryPlan()
    gone = plan(event("k", kept=True, clip=EXPIRED, snapshot=EXPIRED), at=timedelta(days=3650))
    assert gone == ExpiryPlan()  # not even its row


def test_a_clip_shared_with_a_kept_event_stays() -> None:
    shared = "clips/cam/merged.mp4"
    result = plan(event("p", clip_key=shared), event("k", clip_key=shared, kept=True), at=timedelta(days=365))
    assert result.expire_clips == {}
    assert result.expire_snapshots == {"p": snaps("p")}
    assert result.delete_events == {}  # p still points at the stored clip


def test_without_drops_events_kept_since_and_their_clips() -> None:
    shared = "clips/cam/merged.mp4"
    result = plan(
        event("a"), event("p", clip_key=shared), event("q", clip_key=shared), at=timedelta(days=365)
    )
    trimmed = result.without({"q"}, {shared})
    assert trimmed.expire_clips == {"a": "clips/cam/a.mp4"}
    assert trimmed.expire_snapshots == {"a": snaps("a"), "p": snaps("p")}
    assert trimmed.delete_events == {"a": media("a")}
    assert result.without(set(), set()) == result


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (None, DEFAULTS),
        ({}, DEFAULTS),
        ({"event_clip_days": 1}, RetentionDays(1, 30, 7)),
        ({"snapshot_days": 2, "continuous_days": 0}, RetentionDays(30, 2, 0)),
        ({"event_clip_days": None, "snapshot_days": "5", "continuous_days": True}, DEFAULTS),
        ({"event_clip_days": 99999}, DEFAULTS),
    ],
)
def test_resolve_days(override: dict[str, Any] | None, expected: RetentionDays) -> None:
    assert resolve_days(DEFAULTS, override) == expected


def test_earliest_cutoff_uses_the_shortest_days() -> None:
    assert earliest_cutoff(DEFAULTS, OVERRIDES.values(), T0) == T0 - timedelta(days=1)
    assert earliest_cutoff(DEFAULTS, [], T0) == T0 - timedelta(days=30)


def test_expired_segments() -> None:
    def info(key: str, age: timedelta) -> ObjectInfo:
        return ObjectInfo(key=key, size=1, content_type="video/mp4", last_modified=T0 - age)

    objects = [
        info("segments/cam/2025/12/01/a.mp4", timedelta(days=7)),
        info("segments/cam/2025/12/01/b.mp4", timedelta(days=6, hours=23)),
        info("segments/long/2025/12/01/c.mp4", timedelta(days=8)),  # continuous_days null: 7
        info("segments/other/x.mp4", timedelta(days=8)),  # a camera without a row: defaults
        info("clips/cam/2025/12/01/d.mp4", timedelta(days=400)),  # not a segment
        info("segments/orphan.mp4", timedelta(days=400)),  # no camera part
    ]
    keys = expired_segments(objects, defaults=DEFAULTS, overrides=OVERRIDES, now=T0)
    assert keys == [
        "segments/cam/2025/12/01/a.mp4",
        "segments/long/2025/12/01/c.mp4",
        "segments/other/x.mp4",
    ]
