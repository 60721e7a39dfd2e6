"""Response models of the continuous-recording API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from hub.api.schemas import CAMERA_ID_EXAMPLE
from hub.db.models import MediaState

SEGMENT_KEY_EXAMPLE = f"segments/{CAMERA_ID_EXAMPLE}/2024/05/01/120300-250.mp4"
SEGMENT_EXAMPLE: dict[str, Any] = {
    "id": "6c1d2e3f-4a5b-4c7d-8e9f-0a1b2c3d4e5f",
    "camera_id": CAMERA_ID_EXAMPLE,
    "key": SEGMENT_KEY_EXAMPLE,
    "start_at": "2024-05-01T12:03:00.250Z",
    "end_at": "2024-05-01T12:04:00.250Z",
    "duration_s": 60.0,
    "frames": 1500,
    "bytes": 7_864_320,
    "codec": "h264",
    "width": 1920,
    "height": 1080,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "state": "stored",
}


class SegmentOut(BaseModel):
    """One file of continuous recording; ``start_at``/``end_at`` are the hub's wall clock."""

    model_config = ConfigDict(json_schema_extra={"examples": [SEGMENT_EXAMPLE]})

    id: str
    camera_id: str
    key: str
    start_at: datetime
    end_at: datetime
    duration_s: float
    frames: int
    bytes: int
    codec: str
    width: int
    height: int
    sha256: str
    state: MediaState
