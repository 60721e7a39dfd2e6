"""What the hub reads from an ONVIF camera, and the pure parsers that build it from zeep replies.

zeep parses leniently: a malformed or out-of-order reply gives objects whose fields are None. The
parsers check every field the hub relies on and raise :class:`OnvifMalformedReply` (a ValueError)
naming the operation and the field, so a broken camera is reported, not a None deep in the hub.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from adapters.onvif.errors import OnvifMalformedReply

# Query keys that carry credentials in vendor URIs (Dahua and Hikvision snapshot URIs among them).
CREDENTIAL_KEYS = frozenset({"user", "username", "pass", "password", "pwd", "passwd"})


@dataclass(frozen=True)
class DeviceInfo:
    manufacturer: str
    model: str
    firmware_version: str
    serial_number: str
    hardware_id: str


@dataclass(frozen=True)
class Capabilities:
    """Services present, probed once at connect."""

    media: bool
    ptz: bool
    events: bool


@dataclass(frozen=True)
class MediaProfile:
    token: str
    name: str
    encoding: str
    width: int
    height: int
    fps: float | None
    bitrate_kbps: int | None
    stream_uri: str  # RTSP, unicast, without credentials

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class PtzSpace:
    kind: str  # e.g. AbsolutePanTiltPositionSpace
    uri: str
    x_range: tuple[float, float]
    y_range: tuple[float, float] | None  # None for zoom and speed spaces


@dataclass(frozen=True)
class PtzNode:
    token: str
    name: str
    spaces: tuple[PtzSpace, ...]
    max_presets: int


@dataclass(frozen=True)
class PtzPosition:
    pan: float | None
    tilt: float | None
    zoom: float | None
    moving: bool = False
    utc_time: dt.datetime | None = None


@dataclass(frozen=True)
class Preset:
    token: str
    name: str
    position: PtzPosition | None


@dataclass(frozen=True)
class PtzInfo:
    nodes: tuple[PtzNode, ...]
    presets: tuple[Preset, ...]  # of the main profile


@dataclass(frozen=True)
class DeviceSnapshot:
    info: DeviceInfo
    capabilities: Capabilities
    profiles: tuple[MediaProfile, ...]
    main: MediaProfile
    sub: MediaProfile
    snapshot_uri: str | None
    ptz: PtzInfo | None
    clock_offset_s: float  # camera clock minus ours, as adjust_time measured it


@dataclass(frozen=True)
class CameraEvent:
    topic: Literal["motion", "tamper"]
    state: bool
    utc_time: dt.datetime | None
    source_token: str | None
    property_operation: str | None  # Initialized / Changed / Deleted; None: not a property event


# --- parsers ------------------------------------------------------------------------------------
def field(obj: Any, path: str) -> Any:
    """``field(reply, "Resolution.Width")``: the attribute chain, or None where any link is missing."""
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def _text(obj: Any, path: str, where: str) -> str:
    value = field(obj, path)
    if value is None or not str(value).strip():
        raise OnvifMalformedReply(f"{where}: no {path}")
    return str(value).strip()


def _number(obj: Any, path: str) -> float | None:
    value = field(obj, path)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):  # a vendor's "" or "n/a" where a number belongs: treat as absent
        return None


def strip_credentials(uri: str) -> str:
    """``uri`` without ``user:pass@`` and without credential query parameters."""
    parts = urlsplit(uri)
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in CREDENTIAL_KEYS]
    if len(kept) != len(pairs):
        query = urlencode(kept)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def parse_device_info(reply: Any) -> DeviceInfo:
    where = "GetDeviceInformation"
    return DeviceInfo(
        manufacturer=_text(reply, "Manufacturer", where),
        model=_text(reply, "Model", where),
        firmware_version=_text(reply, "FirmwareVersion", where),
        serial_number=_text(reply, "SerialNumber", where),
        hardware_id=str(field(reply, "HardwareId") or ""),  # optional for the hub
    )


def parse_profiles(reply: Any) -> list[MediaProfile]:
    """The video profiles of GetProfiles, with an empty ``stream_uri`` (GetStreamUri fills it)."""
    if not reply:
        raise OnvifMalformedReply("GetProfiles: no profiles")
    profiles = []
    for index, raw in enumerate(reply):
        token = _text(raw, "token", f"GetProfiles: profile {index}")
        encoder = field(raw, "VideoEncoderConfiguration")
        if encoder is None:
            continue  # an audio or metadata profile: nothing the hub can record
        where = f"GetProfiles: profile {token!r}"
        width, height = _number(encoder, "Resolution.Width"), _number(encoder, "Resolution.Height")
        if not width or not height:
            raise OnvifMalformedReply(f"{where}: no VideoEncoderConfiguration.Resolution")
        bitrate = _number(encoder, "RateControl.BitrateLimit")
        profiles.append(
            MediaProfile(
                token=token,
                name=str(field(raw, "Name") or token),
                encoding=_text(encoder, "Encoding", where),
                width=int(width),
                height=int(height),
                fps=_number(encoder, "RateControl.FrameRateLimit"),
                bitrate_kbps=None if bitrate is None else int(bitrate),
                stream_uri="",
            )
        )
    if not profiles:
        raise OnvifMalformedReply("GetProfiles: no profile has a VideoEncoderConfiguration")
    return profiles


def parse_media_uri(reply: Any, operation: str, token: str, schemes: tuple[str, ...]) -> str:
    """The credential-free Uri of a GetStreamUri / GetSnapshotUri reply."""
    uri = field(reply, "Uri")
    if not uri or not str(uri).strip():
        raise OnvifMalformedReply(f"{operation} for profile {token!r}: no Uri")
    scheme = urlsplit(str(uri).strip()).scheme.lower()
    if scheme not in schemes:
        raise OnvifMalformedReply(
            f"{operation} for profile {token!r}: {scheme or 'no'} scheme, not {schemes[0]}"
        )
    return strip_credentials(str(uri).strip())


def _range(raw: Any, name: str) -> tuple[float, float] | None:
    low, high = _number(raw, f"{name}.Min"), _number(raw, f"{name}.Max")
    return None if low is None or high is None else (low, high)


def parse_ptz_node(raw: Any) -> PtzNode:
    token = _text(raw, "token", "GetNodes: node")
    spaces = []
    supported = field(raw, "SupportedPTZSpaces")
    for kind in (
        "AbsolutePanTiltPositionSpace",
        "AbsoluteZoomPositionSpace",
        "RelativePanTiltTranslationSpace",
        "RelativeZoomTranslationSpace",
        "ContinuousPanTiltVelocitySpace",
        "ContinuousZoomVelocitySpace",
    ):
        for space in getattr(supported, kind, None) or []:
            x_range = _range(space, "XRange")
            if x_range is not None and field(space, "URI"):
                spaces.append(PtzSpace(kind, str(space.URI), x_range, _range(space, "YRange")))
    presets = _number(raw, "MaximumNumberOfPresets")
    return PtzNode(token, str(field(raw, "Name") or token), tuple(spaces), int(presets or 0))


def parse_position(raw: Any) -> PtzPosition:
    """A PTZVector (preset) or a PTZStatus (with MoveStatus and UtcTime)."""
    vector = field(raw, "Position") if hasattr(raw, "MoveStatus") else raw
    moves = [field(raw, "MoveStatus.PanTilt"), field(raw, "MoveStatus.Zoom")]
    utc_time = field(raw, "UtcTime")
    return PtzPosition(
        pan=_number(vector, "PanTilt.x"),
        tilt=_number(vector, "PanTilt.y"),
        zoom=_number(vector, "Zoom.x"),
        moving=any(str(m).upper() == "MOVING" for m in moves if m is not None),
        utc_time=utc_time if isinstance(utc_time, dt.datetime) else None,
    )


def parse_preset(raw: Any) -> Preset:
    token = _text(raw, "token", "GetPresets: preset")
    position = field(raw, "PTZPosition")
    return Preset(
        token, str(field(raw, "Name") or token), None if position is None else parse_position(position)
    )
