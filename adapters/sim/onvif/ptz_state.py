"""The simulated pan/tilt/zoom head: positions in ONVIF's generic spaces, integrated over time.

Pan and tilt live in [-1, 1], zoom in [0, 1]. A continuous move runs at ``speed`` units per second
per unit of velocity until Stop or its timeout; absolute and relative moves arrive at once.
:meth:`PtzState.crop_window` maps the position to the part of the source picture the camera sees.
:attr:`PtzState.version` and :meth:`PtzState.settled` are cheap change signals for watchers (the
simulated video, :class:`~adapters.sim.ptz_video.PtzVideo`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_PRESETS = 32
STILL = (0.0, 0.0, 0.0)


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


@dataclass(frozen=True)
class Preset:
    token: str
    name: str
    pan: float
    tilt: float
    zoom: float


@dataclass
class PtzState:
    clock: Callable[[], float] = time.monotonic
    speed: float = 0.5  # generic units per second at velocity 1
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    presets: dict[str, Preset] = field(default_factory=dict)
    _since: float = 0.0
    _until: float | None = None
    _next_preset: int = 1
    _version: int = field(default=0, init=False)
    _rest_at: float = field(default=float("-inf"), init=False)  # when the head last came to rest

    @property
    def version(self) -> int:
        """Grows each time a command changes the position or the motion, or a timed move ends."""
        self._integrate()
        return self._version

    def settled(self, hold_s: float = 0.0) -> bool:
        """Not moving, and at rest for at least ``hold_s`` seconds of :attr:`clock`."""
        self._integrate()
        return self.velocity == STILL and self._since - self._rest_at >= hold_s

    def _integrate(self) -> None:
        now = self.clock()
        if self.velocity != STILL:
            end = now if self._until is None else min(now, self._until)
            dt = max(0.0, end - self._since) * self.speed
            vp, vt, vz = self.velocity
            self._set(self.pan + vp * dt, self.tilt + vt * dt, self.zoom + vz * dt)
            if self._until is not None and now >= self._until:
                self.velocity = STILL
                self._version += 1
                self._rest_at = self._until
        self._since = now

    def _changed(self) -> None:
        """A command changed the position or the motion, at ``_since`` (just integrated)."""
        self._version += 1
        if self.velocity == STILL:
            self._rest_at = self._since

    def _set(self, pan: float, tilt: float, zoom: float) -> None:
        self.pan, self.tilt, self.zoom = _clamp(pan, -1, 1), _clamp(tilt, -1, 1), _clamp(zoom, 0, 1)

    def position(self) -> tuple[float, float, float]:
        self._integrate()
        return self.pan, self.tilt, self.zoom

    def moving(self) -> tuple[bool, bool]:
        """(pan/tilt moving, zoom moving)."""
        self._integrate()
        vp, vt, vz = self.velocity
        return (vp != 0.0 or vt != 0.0), vz != 0.0

    def continuous_move(self, pan: float, tilt: float, zoom: float, timeout_s: float | None) -> None:
        self._integrate()
        self.velocity = (_clamp(pan, -1, 1), _clamp(tilt, -1, 1), _clamp(zoom, -1, 1))
        self._until = None if timeout_s is None else self._since + timeout_s
        self._changed()

    def stop(self, *, pan_tilt: bool = True, zoom: bool = True) -> None:
        self._integrate()
        vp, vt, vz = self.velocity
        self.velocity = (0.0 if pan_tilt else vp, 0.0 if pan_tilt else vt, 0.0 if zoom else vz)
        if self.velocity != (vp, vt, vz):
            self._changed()

    def absolute_move(self, pan: float | None, tilt: float | None, zoom: float | None) -> None:
        self.stop()
        self._set(
            self.pan if pan is None else pan,
            self.tilt if tilt is None else tilt,
            self.zoom if zoom is None else zoom,
        )
        self._changed()

    def relative_move(self, pan: float, tilt: float, zoom: float) -> None:
        self.stop()
        self._set(self.pan + pan, self.tilt + tilt, self.zoom + zoom)
        self._changed()

    def set_preset(self, name: str | None, token: str | None = None) -> str:
        if token is not None and token not in self.presets:
            raise ValueError(f"no preset {token!r}")
        if token is None:
            if len(self.presets) >= MAX_PRESETS:
                raise ValueError(f"all {MAX_PRESETS} presets are in use")
            token = f"preset{self._next_preset}"
            self._next_preset += 1
        pan, tilt, zoom = self.position()
        self.presets[token] = Preset(token, name or token, pan, tilt, zoom)
        return token

    def goto_preset(self, token: str) -> None:
        preset = self._preset(token)
        self.absolute_move(preset.pan, preset.tilt, preset.zoom)

    def remove_preset(self, token: str) -> None:
        del self.presets[self._preset(token).token]

    def _preset(self, token: str) -> Preset:
        try:
            return self.presets[token]
        except KeyError:
            raise ValueError(f"no preset {token!r}") from None

    def crop_window(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the source the camera sees: ``1 - 0.5 * zoom`` of it, panned within it.

        Pan -1 is the left edge, +1 the right; tilt +1 is the top, -1 the bottom.
        """
        pan, tilt, zoom = self.position()
        scale = 1.0 - 0.5 * zoom
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        x = round((width - w) * (pan + 1) / 2)
        y = round((height - h) * (1 - tilt) / 2)
        return x, y, w, h
