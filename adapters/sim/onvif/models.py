"""What a simulated ONVIF camera is: its identity and its media profiles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceIdentity:
    serial_number: str
    hostname: str
    manufacturer: str = "SharpEyes"
    model: str = "SimCam"
    firmware_version: str = "1.0"
    hardware_id: str = "sim-1"


@dataclass(frozen=True)
class SimProfile:
    """One media profile (``main``/``sub``) and the RTSP URL its stream is served at."""

    token: str
    name: str
    width: int
    height: int
    fps: float
    bitrate_kbps: int
    rtsp_uri: str
    encoding: str = "H264"
