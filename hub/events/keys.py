"""Object keys for event media: laid out by camera and date, so retention can sweep by prefix."""

from __future__ import annotations

from datetime import UTC, datetime


def _day(started_at: datetime) -> str:
    return started_at.astimezone(UTC).strftime("%Y/%m/%d")


def clip_key(camera_id: str, started_at: datetime, clip_id: str) -> str:
    return f"clips/{camera_id}/{_day(started_at)}/{clip_id}.mp4"


def snapshot_key(camera_id: str, started_at: datetime, event_id: str) -> str:
    return f"snapshots/{camera_id}/{_day(started_at)}/{event_id}.jpg"


def thumbnail_key(camera_id: str, started_at: datetime, event_id: str) -> str:
    return f"thumbnails/{camera_id}/{_day(started_at)}/{event_id}.jpg"


def segment_key(camera_id: str, start_at: datetime) -> str:
    """``segments/<camera>/<yyyy>/<mm>/<dd>/<HHMMSS>-<ms>.mp4`` (UTC): sorted keys are in time order."""
    at = start_at.astimezone(UTC)
    return f"segments/{camera_id}/{_day(at)}/{at:%H%M%S}-{at.microsecond // 1000:03d}.mp4"


def media_links(event_id: str) -> dict[str, str]:
    """API paths for an event's media, as tickets carry them (they never expire, unlike presigned URLs)."""
    base = f"/api/v1/events/{event_id}"
    return {
        "event": base,
        "clip": f"{base}/clip",
        "snapshot": f"{base}/snapshot",
        "thumbnail": f"{base}/thumbnail",
    }
