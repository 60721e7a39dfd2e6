"""The versioned JSON body of a ticket. Pure: the same event gives the same ticket.

Only facts about the event and the camera's id and name go in; camera URLs and credentials
never leave the hub in a ticket.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hub.db.models import Camera, Event, MediaState

SCHEMA = "sharp-eyes.ticket/v1"

# Ticket ids derive from the event id, so a rebuilt payload and the outbox row agree on the id.
_TICKET_NAMESPACE = uuid.UUID("5c1e4b2a-9f3d-4c7e-8a61-2d0b7f9e3a15")


def ticket_id_for(event_id: str) -> str:
    """The ticket id of an event: stable, so the receiver's dedupe key survives a rebuild."""
    return str(uuid.uuid5(_TICKET_NAMESPACE, event_id))


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, to the millisecond: what grid systems parse without fuss."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime in a ticket")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clip(event: Event) -> dict[str, Any] | None:
    if event.clip_key is None or event.clip_state in (MediaState.NONE, MediaState.FAILED):
        return None
    return {
        "key": event.clip_key,
        "duration_s": event.clip_duration_s,
        "frames": event.clip_frames,
        "codec": event.clip_codec,
        "sha256": event.clip_sha256,
        "bytes": event.clip_bytes,
    }


def _snapshot(event: Event) -> dict[str, Any] | None:
    if event.snapshot_key is None or event.snapshot_state in (MediaState.NONE, MediaState.FAILED):
        return None
    return {"key": event.snapshot_key}


def build_ticket_payload(
    event: Event,
    camera: Camera,
    *,
    media_urls: dict[str, str],
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """The ticket body for a closed event.

    ``media_urls`` are the hub's API paths for the media (``/api/v1/events/{id}/clip``), not
    object-store URLs. ``created_at`` defaults to the event's end (then start), so the body is
    a pure function of the event.
    """
    if camera.id != event.camera_id:
        raise ValueError("camera does not match the event")
    stamp = created_at or event.ended_at or event.started_at
    return {
        "schema": SCHEMA,
        "ticket_id": ticket_id_for(event.id),
        "event": {
            "id": event.id,
            "kind": event.kind,
            "severity": event.severity,
            "camera_id": camera.id,
            "camera_name": camera.name,
            "started_at": iso_utc(event.started_at),
            "ended_at": iso_utc(event.ended_at),
            "score": float(event.score),
            "clip": _clip(event),
            "snapshot": _snapshot(event),
            "links": dict(media_urls),
        },
        "created_at": iso_utc(stamp),
    }
