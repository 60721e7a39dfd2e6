"""Request and response models of the registry API (regions, cameras, import), with examples.

Requests are the registry's own specs (``hub.registry.specs``) with OpenAPI examples; responses
never carry a password: ``has_password`` says whether one is stored.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.api.schemas import CameraOut
from hub.db.models import Camera, CameraKind, CameraProtocol, CameraSource
from hub.registry.specs import CameraPatch, CameraSpec, RegionPatch, RegionSpec

REGION_EXAMPLE: dict[str, Any] = {
    "id": "licheng",
    "name": "Licheng District",
    "parent_id": "jinan",
    "level": "county",
}
CAMERA_EXAMPLE: dict[str, Any] = {
    "id": "licheng-gate-1",
    "name": "Licheng village gate",
    "region_id": "licheng",
    "kind": "village",
    "tags": ["gate", "night-ir"],
    "latitude": 36.6683,
    "longitude": 117.0204,
    "protocol": "onvif",
    "onvif_url": "http://192.0.2.21/onvif/device_service",
    "main_url": "rtsp://192.0.2.21:554/stream1",
    "sub_url": "rtsp://192.0.2.21:554/stream2",
    "username": "viewer",
    "password": "change-me",
    "ptz": True,
    "retention": {"event_clip_days": 30, "snapshot_days": 90},
    "analysis": {"enabled": True, "fps": 5, "motion": {"threshold": 30}},
    "privacy_masks": [[[0.0, 0.0], [0.3, 0.0], [0.3, 0.2], [0.0, 0.2]]],
}
CSV_EXAMPLE = (
    "id,name,region,kind,tags,latitude,longitude,protocol,onvif_url,main_url,sub_url,"
    "snapshot_url,username,password,ptz,enabled\n"
    "licheng-gate-1,Gate,licheng,village,gate;night-ir,36.6683,117.0204,rtsp,,"
    "rtsp://192.0.2.21/stream1,,,viewer,change-me,false,true\n"
)


class RegionCreate(RegionSpec):
    model_config = ConfigDict(json_schema_extra={"examples": [REGION_EXAMPLE]})


class RegionUpdate(RegionPatch):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Licheng", "parent_id": "jinan"}]})


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [REGION_EXAMPLE]})

    id: str
    name: str
    parent_id: str | None
    level: str
    path: str = Field(description="Ids from the root, e.g. /jinan/licheng/", examples=["/jinan/licheng/"])
    created_at: datetime
    updated_at: datetime


class CameraCreate(CameraSpec):
    model_config = ConfigDict(json_schema_extra={"examples": [CAMERA_EXAMPLE]})


class CameraUpdate(CameraPatch):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"tags": ["gate"], "password": "new-secret", "sub_url": None}]}
    )


class CameraDetail(CameraOut):
    """A camera with its registry fields; credentials never leave the hub."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {**{k: v for k, v in CAMERA_EXAMPLE.items() if k != "password"}, "has_password": True}
            ]
        },
    )

    region_id: str | None
    kind: CameraKind
    tags: list[str]
    latitude: float | None
    longitude: float | None
    protocol: CameraProtocol
    onvif_url: str | None
    snapshot_url: str | None
    username: str | None
    has_password: bool = Field(description="A password is stored (encrypted); it is never returned")
    ptz: bool
    retention: dict[str, Any] | None
    analysis: dict[str, Any] | None
    privacy_masks: list[list[list[float]]]
    source: CameraSource = Field(description="config: owned by the YAML file, read-only here")
    device_info: dict[str, Any] | None
    online_since: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Camera, live: dict[str, Any] | None) -> CameraDetail:
        data = {name: getattr(row, name) for name in cls.model_fields if name not in ("has_password", "live")}
        return cls(**data, has_password=row.password_enc is not None, live=live)


class ImportMode(enum.StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    PARTIAL = "partial"


class FieldError(BaseModel):
    field: str
    message: str


class RejectedRow(BaseModel):
    row: int = Field(description="CSV: 1-based line number of the row; JSON: index in the array")
    id: str | None
    errors: list[FieldError]


class ImportReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mode": "partial",
                    "rows": 3,
                    "accepted": 2,
                    "created": 1,
                    "updated": 1,
                    "rejected": [
                        {"row": 4, "id": "bad-1", "errors": [{"field": "latitude", "message": "…"}]}
                    ],
                }
            ]
        }
    )

    mode: ImportMode
    rows: int = Field(description="Data rows read")
    accepted: int = Field(description="Rows that passed validation")
    created: int = Field(description="Cameras written as new rows")
    updated: int = Field(description="Existing API cameras overwritten by their row")
    rejected: list[RejectedRow]
