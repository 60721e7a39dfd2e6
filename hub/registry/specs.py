"""What a client may send for a region or a camera, validated the same way for POST, PATCH and import.

Cross-field rules are small named functions (``location_problem``, ``protocol_problem``) run on
the create payload and again on the merged row of a PATCH; each error names its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from hub.config.camera import CAMERA_ID_PATTERN, rtsp_url_problem
from hub.db.models import CameraKind, CameraProtocol
from hub.registry.masks import MAX_MASKS, polygon_problem

ERROR_TYPE = "registry"
MAX_TAGS = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def fail(message: str) -> PydanticCustomError:
    """A validation error whose message is exactly ``message`` (no "Value error, " prefix)."""
    return PydanticCustomError(ERROR_TYPE, message)


def _rtsp(url: str) -> str:
    problem = rtsp_url_problem(url)
    if problem is not None:
        raise fail(f"URL {problem}")
    return url


def _http(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as err:
        raise fail(f"URL is not valid ({err})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise fail("URL must start with http:// or https://")
    if not parts.hostname:
        raise fail("URL has no host")
    if parts.username is not None or parts.password is not None:
        raise fail("URL must not hold credentials: put them in username and password")
    return url


def _tag(tag: str) -> str:
    if ";" in tag or "," in tag or _CONTROL.search(tag):
        raise fail(f"tag {tag!r} must not hold ';', ',' or control characters")
    return tag


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _polygon(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    problem = polygon_problem(points)
    if problem is not None:
        raise fail(problem)
    return points


Slug = Annotated[str, Field(pattern=CAMERA_ID_PATTERN, examples=["licheng-gate-1"])]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
RtspUrl = Annotated[str, AfterValidator(_rtsp)]
HttpUrl = Annotated[str, AfterValidator(_http)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(_tag)
]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]
Polygon = Annotated[list[tuple[float, float]], AfterValidator(_polygon)]
Masks = Annotated[list[Polygon], Field(max_length=MAX_MASKS)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
UserName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Password = Annotated[SecretStr, Field(min_length=1, max_length=256)]


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetentionSpec(SpecModel):
    """Days to keep each kind of media; a null field means the hub's default."""

    event_clip_days: int | None = Field(None, ge=1, le=3650)
    snapshot_days: int | None = Field(None, ge=1, le=3650)
    continuous_days: int | None = Field(None, ge=0, le=3650)


class MotionOverrides(SpecModel):
    """Per-camera overrides of the ``motion`` section; null keeps the hub's value."""

    threshold: int | None = Field(None, ge=1, le=255)
    min_area_fraction: float | None = Field(None, ge=0, le=1)
    start_frames: int | None = Field(None, ge=1, le=100)
    end_quiet_s: float | None = Field(None, ge=0, le=600)


class AnalysisSpec(SpecModel):
    enabled: bool = True
    fps: float | None = Field(None, ge=0.5, le=30, description="Overrides motion.analysis_fps")
    motion: MotionOverrides | None = None


class RegionSpec(SpecModel):
    id: Slug
    name: Annotated[Name, StringConstraints(min_length=1)]
    parent_id: Slug | None = None
    level: str = Field("", max_length=32, description="Free text: city, county, township, village, …")


class RegionPatch(SpecModel):
    """Only the fields sent change; ``parent_id: null`` moves the region to the top."""

    name: Annotated[Name, StringConstraints(min_length=1)] | None = None
    parent_id: Slug | None = None
    level: str | None = Field(None, max_length=32)

    @field_validator("name", "level")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise fail("may not be null")
        return value


class CameraFields(SpecModel):
    """Every camera field but the id; shared by create and patch."""

    name: Name | None = None
    region_id: Slug | None = None
    kind: CameraKind | None = None
    tags: Tags | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    protocol: CameraProtocol | None = None
    onvif_url: HttpUrl | None = Field(None, description="ONVIF device service URL, without credentials")
    main_url: RtspUrl | None = Field(None, description="Main stream, without credentials")
    sub_url: RtspUrl | None = None
    snapshot_url: HttpUrl | None = None
    username: UserName | None = None
    password: Password | None = Field(None, description="Write-only: stored encrypted, never returned")
    ptz: bool | None = None
    enabled: bool | None = None
    retention: RetentionSpec | None = None
    analysis: AnalysisSpec | None = None
    privacy_masks: Masks | None = None


# Fields that cannot be cleared: ``null`` is refused for them in a PATCH.
NOT_NULL = ("name", "kind", "tags", "protocol", "ptz", "enabled", "privacy_masks")


class CameraPatch(CameraFields):
    """Only the fields sent change; ``null`` clears a nullable field (``password: null`` removes it)."""

    @field_validator(*NOT_NULL)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise fail("may not be null")
        return value


class CameraSpec(CameraFields):
    """A new camera; omitted fields take their defaults (``name``: the id)."""

    id: Slug
    name: Name = ""
    kind: CameraKind = CameraKind.OTHER
    tags: Tags = Field(default_factory=list)
    protocol: CameraProtocol = CameraProtocol.RTSP
    ptz: bool = False
    enabled: bool = True
    privacy_masks: Masks = Field(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _cross_checks(cls, data: Any, handler: ModelWrapValidatorHandler[CameraSpec]) -> CameraSpec:
        spec = handler(data)
        if not spec.name:
            spec.name = spec.id
        raise_problems(cls.__name__, cross_field_problems({k: getattr(spec, k) for k in CROSS_FIELDS}))
        return spec


CROSS_FIELDS = ("latitude", "longitude", "protocol", "main_url", "onvif_url")


def cross_field_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, message)`` for each cross-field rule that ``values`` (a camera's fields) breaks."""
    return [p for p in (location_problem(values), protocol_problem(values)) if p is not None]


def raise_problems(title: str, problems: list[tuple[str, str]]) -> None:
    if problems:
        details = [InitErrorDetails(type=fail(msg), loc=(field,), input=None) for field, msg in problems]
        raise ValidationError.from_exception_data(title, details)


def location_problem(values: Mapping[str, Any]) -> tuple[str, str] | None:
    if (values.get("latitude") is None) != (values.get("longitude") is None):
        missing = "latitude" if values.get("latitude") is None else "longitude"
        return missing, "latitude and longitude go together: give both or neither"
    return None


def protocol_problem(values: Mapping[str, Any]) -> tuple[str, str] | None:
    protocol = values.get("protocol")
    if protocol == CameraProtocol.RTSP and not values.get("main_url"):
        return "main_url", "is required when protocol is rtsp"
    if protocol == CameraProtocol.ONVIF and not values.get("onvif_url"):
        return "onvif_url", "is required when protocol is onvif"
    return None
