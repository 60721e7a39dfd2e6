"""Request and response models of the ONVIF API (discovery, PTZ), with examples.

:class:`DiscoveryRequest` is also what ``hub discover`` builds, so both check targets alike.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from adapters.onvif.discovery import expand_cidr
from adapters.onvif.models import Preset, PtzPosition

MAX_HOSTS = 4096  # hosts one discovery request may probe (targets and the CIDR range together)
DISCOVERY_PORT = 3702

Pan = Annotated[float, Field(ge=-1, le=1, description="Generic space: -1 (left) .. 1 (right)")]
Tilt = Annotated[float, Field(ge=-1, le=1, description="Generic space: -1 (down) .. 1 (up)")]
ZoomMove = Annotated[float, Field(ge=-1, le=1, description="-1 (zoom out) .. 1 (zoom in)")]
ZoomPosition = Annotated[float, Field(ge=0, le=1, description="0 (wide) .. 1 (tele)")]


def parse_target(text: str, default_port: int = DISCOVERY_PORT) -> tuple[str, int]:
    """``"192.0.2.7:3702"`` or ``"192.0.2.7"`` as ``(ipv4, port)``; ValueError with the reason."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host, port_text = text.strip(), str(default_port)
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"target {text!r} is not an IPv4 address (HOST or HOST:PORT)") from None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"target {text!r}: port must be 1..65535")
    return str(address), int(port_text)


class DiscoveryRequest(BaseModel):
    """Unicast probes to ``targets`` and every host of ``cidr``, and/or one multicast probe."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"targets": ["192.0.2.10:3702", "192.0.2.11"], "timeout_s": 3},
                {"cidr": "192.0.2.0/28", "port": 3702, "timeout_s": 2},
                {"multicast_interface": "eth0", "timeout_s": 3},
            ]
        },
    )

    targets: list[str] | None = Field(
        None, max_length=MAX_HOSTS, description="IPv4 HOST or HOST:PORT (default port: `port`)"
    )
    cidr: str | None = Field(None, max_length=43, description=f"IPv4 network, at most {MAX_HOSTS} hosts")
    port: int = Field(
        DISCOVERY_PORT, ge=1, le=65535, description="WS-Discovery port for `cidr` and bare hosts"
    )
    multicast_interface: Annotated[str, StringConstraints(min_length=1, max_length=15)] | None = Field(
        None, description="Interface name or IPv4 address for one multicast probe (239.255.255.250)"
    )
    timeout_s: float = Field(
        3.0, ge=0.5, le=30, description="How long to wait for answers after the last probe"
    )

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets: list[str] | None) -> list[str] | None:
        for target in targets or []:
            parse_target(target)
        return targets

    @model_validator(mode="after")
    def _something_to_probe(self) -> DiscoveryRequest:
        hosts = len(self.probe_targets())
        if not hosts and self.multicast_interface is None:
            raise ValueError("nothing to probe: give targets, cidr or multicast_interface")
        if hosts > MAX_HOSTS:
            raise ValueError(f"{hosts} hosts to probe, more than the limit of {MAX_HOSTS}")
        return self

    def probe_targets(self) -> list[tuple[str, int]]:
        """The unicast ``(ipv4, port)`` targets, each once, in the order given."""
        found = [parse_target(t, self.port) for t in self.targets or []]
        if self.cidr is not None:
            found += expand_cidr(self.cidr, self.port, max_hosts=MAX_HOSTS)
        return list(dict.fromkeys(found))


class DiscoveredDeviceOut(BaseModel):
    endpoint: str = Field(description="WS-Discovery endpoint reference: the device's stable identity")
    xaddrs: list[str] = Field(description="Device service URLs")
    scopes: list[str]
    types: list[str] = Field(description="`{namespace}local` names")
    address: str = Field(description="The IPv4 address the answer came from")
    registered_camera_id: str | None = Field(description="The registry camera at this address, if any")


class DiscoveryResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "devices": [
                        {
                            "endpoint": "urn:uuid:7d3c1a52-8f0e-5b7a-9a1e-1c2d3e4f5a6b",
                            "xaddrs": ["http://192.0.2.10/onvif/device_service"],
                            "scopes": [
                                "onvif://www.onvif.org/name/gate",
                                "onvif://www.onvif.org/hardware/SimCam",
                            ],
                            "types": ["{http://www.onvif.org/ver10/network/wsdl}NetworkVideoTransmitter"],
                            "address": "192.0.2.10",
                            "registered_camera_id": "licheng-gate-1",
                        }
                    ]
                }
            ]
        }
    )

    devices: list[DiscoveredDeviceOut]


class PtzVelocity(BaseModel):
    """A continuous move: velocities until stop, or for ``timeout_s``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"pan": 0.5, "tilt": 0.0, "zoom": 0.0, "timeout_s": 2}]},
    )

    pan: Pan = 0.0
    tilt: Tilt = 0.0
    zoom: ZoomMove = 0.0
    timeout_s: float | None = Field(None, gt=0, le=300, description="Stop by itself after this long")


class PtzTranslation(BaseModel):
    """A relative move, in the generic translation spaces."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"pan": -0.1, "tilt": 0.05, "zoom": 0.2}]}
    )

    pan: Pan = 0.0
    tilt: Tilt = 0.0
    zoom: ZoomMove = 0.0


class PtzTarget(BaseModel):
    """An absolute position, in the generic position spaces."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"pan": 0.25, "tilt": -0.1, "zoom": 0.5}]}
    )

    pan: Pan
    tilt: Tilt
    zoom: ZoomPosition = 0.0


class PtzStatusOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"pan": 0.25, "tilt": -0.1, "zoom": 0.5, "moving": False, "utc_time": "2024-05-01T12:00:00Z"}
            ]
        }
    )

    pan: float | None
    tilt: float | None
    zoom: float | None
    moving: bool
    utc_time: datetime | None = Field(description="The camera's clock when it answered")

    @classmethod
    def of(cls, position: PtzPosition) -> PtzStatusOut:
        return cls(
            pan=position.pan,
            tilt=position.tilt,
            zoom=position.zoom,
            moving=position.moving,
            utc_time=position.utc_time,
        )


class PresetOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"token": "1", "name": "door", "position": {"pan": 0.5, "tilt": -0.5, "zoom": 0.25}}]
        }
    )

    token: str
    name: str
    position: dict[str, Any] | None = Field(description="pan, tilt and zoom, when the camera says")

    @classmethod
    def of(cls, preset: Preset) -> PresetOut:
        where = preset.position
        position = None if where is None else {"pan": where.pan, "tilt": where.tilt, "zoom": where.zoom}
        return cls(token=preset.token, name=preset.name, position=position)


class PresetCreate(BaseModel):
    """Store the current position under ``name``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "main gate"}]})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class PresetCreated(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"token": "1", "name": "main gate"}]})

    token: str = Field(description="The camera's token for the new preset")
    name: str
