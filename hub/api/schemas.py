"""Request and response models of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hub.db.models import CameraStatus, EventState, MediaState, TicketState

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Items matching the filters, over all pages")
    limit: int
    offset: int


class CameraOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    state: MediaState
    key: str | None
    start_at: datetime | None
    duration_s: float | None
    frames: int | None
    bytes: int | None
    codec: str | None
    sha256: str | None


class EventOut(BaseModel):
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


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    ok: bool
    detail: str = ""


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Check]
