"""The ticket body is a contract with the grid system: assert it whole."""

from __future__ import annotations

import json

import pytest

from hub.db.models import MediaState
from hub.tickets.payload import build_ticket_payload, iso_utc, ticket_id_for
from tests.tickets import T0, make_camera, make_event

EVENT_ID = "0b6f1f8e-3c1a-4d5e-9f00-5a7c2e1d4b33"


def test_payload_for_a_closed_event_with_media() -> None:
    event = make_event(
        event_id=EVENT_ID,
        clip_key="clips/cam-yard/2025/03/14/0b6f.mp4",
        clip_state=MediaState.STORED,
        clip_duration_s=12.04,
        clip_frames=301,
        clip_codec="h264",
        clip_sha256="ab" * 32,
        clip_bytes=1_843_221,
        snapshot_key="snapshots/cam-yard/0b6f.jpg",
        snapshot_state=MediaState.STORED,
    )
    links = {"clip": f"/api/v1/events/{EVENT_ID}/clip", "snapshot": f"/api/v1/events/{EVENT_ID}/snapshot"}

    payload = build_ticket_payload(event, make_camera(), media_urls=links)

    assert payload == {
        "schema": "sharp-eyes.ticket/v1",
        "ticket_id": ticket_id_for(EVENT_ID),
        "event": {
            "id": EVENT_ID,
            "kind": "intrusion",
            "severity": "high",
            "camera_id": "cam-yard",
            "camera_name": "Substation yard",
            "started_at": "2025-03-14T02:15:30.250Z",
            "ended_at": "2025-03-14T02:15:42.250Z",
            "score": 0.91,
            "clip": {
                "key": "clips/cam-yard/2025/03/14/0b6f.mp4",
                "duration_s": 12.04,
                "frames": 301,
                "codec": "h264",
                "sha256": "ab" * 32,
                "bytes": 1_843_221,
            },
            "snapshot": {"key": "snapshots/cam-yard/0b6f.jpg"},
            "links": links,
        },
        "created_at": "2025-03-14T02:15:42.250Z",
    }
    assert "rtsp" not in json.dumps(payload)


def test_payload_without_media_has_null_clip_and_snapshot() -> None:
    event = make_event(event_id=EVENT_ID, clip_key="clips/x.mp4", clip_state=MediaState.FAILED)

    payload = build_ticket_payload(event, make_camera(), media_urls={}, created_at=T0)

    assert payload["event"]["clip"] is None
    assert payload["event"]["snapshot"] is None
    assert payload["event"]["links"] == {}
    assert payload["created_at"] == "2025-03-14T02:15:30.250Z"


def test_ticket_id_is_stable_per_event() -> None:
    assert ticket_id_for(EVENT_ID) == ticket_id_for(EVENT_ID)
    assert ticket_id_for(EVENT_ID) != ticket_id_for("another-event")


def test_payload_refuses_a_camera_that_is_not_the_events() -> None:
    with pytest.raises(ValueError, match=r"^camera does not match the event$"):
        build_ticket_payload(make_event(event_id=EVENT_ID), make_camera("cam-gate"), media_urls={})


def test_iso_utc_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match=r"^naive datetime in a ticket$"):
        iso_utc(T0.replace(tzinfo=None))
