"""Request and response models of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hub.api.problems import MEDIA_TYPE as PROBLEM_MEDIA
from hub.api.schemas_keep import KeepOut
from hub.db.models import CameraStatus, EventState, MediaState, TicketState

T = TypeVar("T")

EVENT_ID_EXAMPLE = "3f2b9c1e-6a4d-4e8f-9b7a-2c1d0e5f4a3b"
TICKET_ID_EXAMPLE = "8e4f2a6c-1b3d-5e7f-9a0b-4c6d8e0f2a1b"
CAMERA_ID_EXAMPLE = "licheng-gate-1"
OBJECT_KEY_EXAMPLE = f"clips/{CAMERA_ID_EXAMPLE}/2024/05/01/{EVENT_ID_EXAMPLE}.mp4"
SIGNATURE_EXAMPLE = "5d41402abc4b2a76b9719d911017c592ae2f5b6c1e8f3a7d9b0c4e6f8a1b3c5d"
PRESIGNED_URL_EXAMPLE = f"http://hub.example:8080/api/v1/objects/{OBJECT_KEY_EXAMPLE}?expires=1714566248&signature={SIGNATURE_EXAMPLE}"

CLIP_EXAMPLE: dict[str, Any] = {
    "state": "stored",
    "key": OBJECT_KEY_EXAMPLE,
    "start_at": "2024-05-01T12:03:55Z",
    "duration_s": 14.6,
    "frames": 365,
    "bytes": 2_457_600,
    "codec": "h264",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}
EVENT_LINKS_EXAMPLE: dict[str, str] = {
    "event": f"/api/v1/events/{EVENT_ID_EXAMPLE}",
    "clip": f"/api/v1/events/{EVENT_ID_EXAMPLE}/clip",
    "snapshot": f"/api/v1/events/{EVENT_ID_EXAMPLE}/snapshot",
    "thumbnail": f"/api/v1/events/{EVENT_ID_EXAMPLE}/thumbnail",
}
EVENT_EXAMPLE: dict[str, Any] = {
    "id": EVENT_ID_EXAMPLE,
    "camera_id": CAMERA_ID_EXAMPLE,
    "kind": "motion",
    "severity": "yellow",
    "state": "closed",
    "started_at": "2024-05-01T12:03:57.250Z",
    "ended_at": "2024-05-01T12:04:08.900Z",
    "score": 0.37,
    "clip": CLIP_EXAMPLE,
    "snapshot_state": "stored",
    "links": EVENT_LINKS_EXAMPLE,
    "details": {"rule": "motion"},
    "keep": None,
}
TICKET_EXAMPLE: dict[str, Any] = {
    "id": TICKET_ID_EXAMPLE,
    "event_id": EVENT_ID_EXAMPLE,
    "state": "delivered",
    "attempts": 2,
    "next_attempt_at": "2024-05-01T12:04:10Z",
    "last_error": "",
    "last_status_code": 202,
    "delivered_at": "2024-05-01T12:04:10.412Z",
    "created_at": "2024-05-01T12:04:08.900Z",
    "payload": {
        "schema": "sharp-eyes.ticket/v1",
        "ticket_id": TICKET_ID_EXAMPLE,
        "event": {
            "id": EVENT_ID_EXAMPLE,
            "kind": "motion",
            "severity": "yellow",
            "camera_id": CAMERA_ID_EXAMPLE,
            "camera_name": "Licheng village gate",
            "started_at": "2024-05-01T12:03:57.250Z",
            "ended_at": "2024-05-01T12:04:08.900Z",
            "score": 0.37,
            "clip": {
                "key": CLIP_EXAMPLE["key"],
                "duration_s": 14.6,
                "frames": 365,
                "codec": "h264",
                "sha256": CLIP_EXAMPLE["sha256"],
                "bytes": 2_457_600,
            },
            "snapshot": {"key": f"snapshots/{CAMERA_ID_EXAMPLE}/2024/05/01/{EVENT_ID_EXAMPLE}.jpg"},
            "links": EVENT_LINKS_EXAMPLE,
        },
        "created_at": "2024-05-01T12:04:08.900Z",
    },
}
LIVE_EXAMPLE: dict[str, Any] = {
    "packets": 18_240,
    "bytes": 95_420_118,
    "frames_analysed": 3_040,
    "events": 2,
    "last_packet_at": 1_714_565_048.9,
    "width": 1920,
    "height": 1080,
    "codec": "h264",
    "fps": 25.0,
    "bitrate_bps": 2_048_000,
    "seconds_since_packet": 0.1,
    "reason": "",
    "uptime_24h": 0.9987,
}
READY_EXAMPLE: dict[str, Any] = {
    "ready": True,
    "checks": {"database": {"ok": True, "detail": ""}, "object_store": {"ok": True, "detail": "s3"}},
}
NOT_READY_EXAMPLE: dict[str, Any] = {
    "ready": False,
    "checks": {
        "database": {"ok": True, "detail": ""},
        "object_store": {
            "ok": False,
            "detail": "local storage root /var/lib/sharp-eyes/objects is missing (deleted or unmounted?)",
        },
    },
}


def problem_example(
    status: int, title: str, detail: str, instance: str, *, type_: str = "about:blank", **extra: Any
) -> dict[str, Any]:
    """An RFC 9457 problem document as the API's handlers write it (``hub.api.problems``)."""
    return {"type": type_, "title": title, "status": status, "instance": instance, "detail": detail, **extra}


def problem_doc(description: str, example: dict[str, Any], **headers: str) -> dict[str, Any]:
    """A ``responses`` entry: a problem document with its example, and headers with their example."""
    doc: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA: {"schema": {"type": "object"}, "example": example}},
    }
    if headers:
        doc["headers"] = {
            name: {"description": f"{name} header", "schema": {"type": "string"}, "example": value}
            for name, value in headers.items()
        }
    return doc


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Items matching the filters, over all pages")
    limit: int
    offset: int


class CameraOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": CAMERA_ID_EXAMPLE,
                    "name": "Licheng village gate",
                    "enabled": True,
                    "main_url": "rtsp://192.0.2.21:554/stream1",
                    "sub_url": "rtsp://192.0.2.21:554/stream2",
                    "status": "online",
                    "status_reason": "",
                    "status_changed_at": "2024-05-01T08:00:02Z",
                    "last_frame_at": "2024-05-01T12:04:08.900Z",
                    "reconnects": 1,
                    "live": LIVE_EXAMPLE,
                }
            ]
        },
    )

    id: str
    name: str
    enabled: bool
    main_url: str = Field(description="Stream URL without credentials")
    sub_url: str | None
    status: CameraStatus
    status_reason: str
    status_changed_at: datetime
    last_frame_at: datetime | None
    reconnects: int
    live: dict[str, Any] | None = Field(None, description="In-memory stream figures of this node")


class ClipOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                CLIP_EXAMPLE,
                {
                    "state": "spooled",
                    "key": CLIP_EXAMPLE["key"],
                    "start_at": "2024-05-01T12:03:55Z",
                    "duration_s": 14.6,
                    "frames": 365,
                    "bytes": 2_457_600,
                    "codec": "h264",
                    "sha256": None,
                },
            ]
        }
    )

    state: MediaState
    key: str | None
    start_at: datetime | None
    duration_s: float | None
    frames: int | None
    bytes: int | None
    codec: str | None
    sha256: str | None


class EventOut(BaseModel):
    """An event; its media through ``links`` (redirects to short-lived presigned URLs)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EVENT_EXAMPLE]})

    id: str
    camera_id: str
    kind: str
    severity: str
    state: EventState
    started_at: datetime
    ended_at: datetime | None
    score: float
    clip: ClipOut
    snapshot_state: MediaState
    links: dict[str, str]
    details: dict[str, Any]
    keep: KeepOut | None = Field(None, description="The evidence hold, while an operator keeps the event")


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [TICKET_EXAMPLE]})

    id: str
    event_id: str
    state: TicketState
    attempts: int
    next_attempt_at: datetime
    last_error: str
    last_status_code: int | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]


class Check(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ok": True, "detail": "s3"}, NOT_READY_EXAMPLE["checks"]["object_store"]]
        }
    )

    ok: bool
    detail: str = ""


class Readiness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [READY_EXAMPLE, NOT_READY_EXAMPLE]})

    ready: bool
    checks: dict[str, Check]
