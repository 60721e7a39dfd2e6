"""Pan, tilt and zoom through ONVIF PTZ ver20, in the generic spaces every PTZ camera must offer.

Values are checked before anything goes to the camera: pan and tilt lie in [-1, 1]; zoom
positions in [0, 1], zoom velocities and translations in [-1, 1] (negative zooms out).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from adapters.onvif.client import OnvifCameraClient
from adapters.onvif.errors import OnvifMalformedReply
from adapters.onvif.models import Preset, PtzPosition, field, parse_position, parse_preset


def _check(name: str, value: float, low: float, high: float) -> float:
    if not isinstance(value, int | float) or math.isnan(value) or not low <= value <= high:
        raise ValueError(f"PTZ {name} {value!r} is outside [{low:g}, {high:g}]")
    return float(value)


def _vector(pan: float, tilt: float, zoom: float, *, zoom_low: float) -> dict[str, Any]:
    return {
        "PanTilt": {"x": _check("pan", pan, -1, 1), "y": _check("tilt", tilt, -1, 1)},
        "Zoom": {"x": _check("zoom", zoom, zoom_low, 1)},
    }


class PtzController:
    """PTZ for one media profile of a connected client (default: the first with a PTZ configuration)."""

    def __init__(self, client: OnvifCameraClient, *, profile_token: str | None = None) -> None:
        self.client = client
        self._token = profile_token

    async def _profile(self) -> str:
        self.client.require("ptz")  # OnvifNotSupported before any request
        if self._token is None:
            profiles = await self.client.call("media", "GetProfiles") or []
            tokens = [field(p, "token") for p in profiles if field(p, "PTZConfiguration") is not None]
            if not tokens or not tokens[0]:
                raise OnvifMalformedReply(
                    "GetProfiles: no profile has a PTZConfiguration", camera=self.client.name
                )
            self._token = str(tokens[0])
        return self._token

    async def _call(self, operation: str, **params: Any) -> Any:
        return await self.client.call("ptz", operation, {"ProfileToken": await self._profile(), **params})

    async def continuous(
        self, pan: float, tilt: float, zoom: float = 0.0, timeout_s: float | None = None
    ) -> None:
        """Move at these velocities until stop(), or for ``timeout_s`` (else the camera's default)."""
        params: dict[str, Any] = {"Velocity": _vector(pan, tilt, zoom, zoom_low=-1)}
        if timeout_s is not None:
            if not timeout_s > 0:
                raise ValueError(f"PTZ timeout {timeout_s!r} s must be positive")
            params["Timeout"] = dt.timedelta(seconds=timeout_s)
        await self._call("ContinuousMove", **params)

    async def relative(self, pan: float, tilt: float, zoom: float = 0.0) -> None:
        await self._call("RelativeMove", Translation=_vector(pan, tilt, zoom, zoom_low=-1))

    async def absolute(self, pan: float, tilt: float, zoom: float = 0.0) -> None:
        await self._call("AbsoluteMove", Position=_vector(pan, tilt, zoom, zoom_low=0))

    async def stop(self) -> None:
        await self._call("Stop", PanTilt=True, Zoom=True)

    async def status(self) -> PtzPosition:
        return parse_position(await self._call("GetStatus"))

    async def presets(self) -> list[Preset]:
        return [parse_preset(raw) for raw in await self._call("GetPresets") or []]

    async def goto_preset(self, token: str) -> None:
        await self._call("GotoPreset", PresetToken=token)

    async def set_preset(self, name: str) -> str:
        """Store the current position as preset ``name``; returns the camera's token for it."""
        if not name.strip():
            raise ValueError("PTZ preset name must not be empty")
        token = await self._call("SetPreset", PresetName=name)
        if not token:
            raise OnvifMalformedReply("SetPreset: no PresetToken", camera=self.client.name)
        return str(token)

    async def remove_preset(self, token: str) -> None:
        await self._call("RemovePreset", PresetToken=token)
