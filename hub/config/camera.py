"""One camera entry of the ``cameras`` list."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from hub.config.base import StrictModel

CAMERA_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_CAMERA_ID = re.compile(CAMERA_ID_PATTERN)
_RTSP_SCHEMES = ("rtsp", "rtsps")


class Transport(enum.StrEnum):
    TCP = "tcp"
    UDP = "udp"


class CameraConfig(StrictModel):
    id: str = Field(
        "",
        title="Camera id",
        description="Slug used in logs, URLs and object keys: lowercase letters, digits, '_' and '-'.",
    )
    name: str = Field("", max_length=200, title="Name", description="Display name; default the id.")
    url: str = Field("", title="Main stream", description="rtsp:// or rtsps:// URL of the main stream.")
    sub_url: str | None = Field(
        None, title="Sub stream", description="Optional low-resolution stream used for analysis."
    )
    enabled: bool = Field(True, title="Enabled", description="Disabled cameras are kept but not opened.")
    transport: Transport = Field(Transport.TCP, title="RTP transport", description="tcp or udp.")
    username: str | None = Field(None, title="User name", description="RTSP/ONVIF user.")
    password: SecretStr | None = Field(None, title="Password", description="RTSP/ONVIF password.")
    analysis_fps: float | None = Field(
        None, ge=0.5, le=30, title="Analysis rate", description="Overrides motion.analysis_fps."
    )
    onvif_url: str | None = Field(
        None,
        title="ONVIF device service",
        description="http(s) URL of the camera's ONVIF device service: its motion and tamper events "
        "become hub events. No credentials in the URL.",
    )
    continuous: bool | None = Field(
        None,
        title="Continuous recording",
        description="Overrides recording.continuous for this camera.",
    )

    privacy_masks: list[list[tuple[float, float]]] = Field(
        default_factory=list,
        title="Privacy masks",
        description="Polygons blacked out before analysis and in snapshots; points [x, y] as fractions "
        "0..1 of the width and height, at least 3 per polygon.",
    )

    @field_validator("privacy_masks")
    @classmethod
    def _polygons(
        cls, masks: list[list[tuple[float, float]]], info: ValidationInfo
    ) -> list[list[tuple[float, float]]]:
        camera_id = info.data.get("id") or "?"
        for i, polygon in enumerate(masks):
            if len(polygon) < 3:
                raise ValueError(f"camera {camera_id!r}: privacy mask {i} needs at least 3 points")
            if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in polygon):
                raise ValueError(f"camera {camera_id!r}: privacy mask {i} has a point outside 0..1")
        return masks

    @field_validator("onvif_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        camera_id = info.data.get("id") or "?"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"camera {camera_id!r}: onvif_url must be an http(s) URL with a host")
        if parts.username or parts.password:
            raise ValueError(f"camera {camera_id!r}: onvif_url must not hold credentials")
        return value

    @field_validator("id")
    @classmethod
    def _slug_id(cls, value: str) -> str:
        if not value:
            raise ValueError("camera id is required")
        if not _CAMERA_ID.match(value):
            raise ValueError(
                f"camera id {value!r} must be 1 to 64 lowercase letters, digits, '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("url", "sub_url")
    @classmethod
    def _rtsp_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        problem = rtsp_url_problem(value)
        if problem is not None:
            camera_id = info.data.get("id") or "?"
            raise ValueError(f"camera {camera_id!r}: {info.field_name} {problem}")
        return value

    @model_validator(mode="after")
    def _default_name(self) -> CameraConfig:
        if not self.name:
            self.name = self.id
        return self


def rtsp_url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable camera stream URL, or None. Never echoes credentials."""
    if not url:
        return "is required (rtsp://host[:port]/path)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as err:
        return f"is not a valid URL ({err})"
    if parts.scheme.lower() not in _RTSP_SCHEMES:
        shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
        return f"must start with rtsp:// or rtsps://, got {shown}"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not hold credentials: put them in username and password"
    return None


def duplicate_ids(cameras: list[Any]) -> list[tuple[int, str]]:
    """``(index, message)`` for each camera reusing an earlier camera's id.

    ``cameras`` holds CameraConfig objects or the raw mappings they are validated from, so the
    check can run even when another camera in the list is broken.
    """
    first_index: dict[str, int] = {}
    duplicates = []
    for index, camera in enumerate(cameras):
        camera_id = camera.id if isinstance(camera, CameraConfig) else _raw_id(camera)
        if camera_id is None:
            continue
        if camera_id in first_index:
            first = first_index[camera_id]
            duplicates.append(
                (index, f"camera id {camera_id!r} is used twice (cameras[{first}] and cameras[{index}])")
            )
        else:
            first_index[camera_id] = index
    return duplicates


def _raw_id(camera: Any) -> str | None:
    value = camera.get("id") if isinstance(camera, Mapping) else None
    return value if isinstance(value, str) and value else None
