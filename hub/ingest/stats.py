"""Live per-camera stream statistics (fps, bitrate), kept in memory and shown by the API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class StreamStats:
    packets: int = 0
    bytes: int = 0
    frames_analysed: int = 0
    events: int = 0
    last_packet_at: float | None = None
    width: int = 0
    height: int = 0
    codec: str = ""
    fps: float = 0.0
    nominal_fps: float | None = None  # what the stream announces
    bitrate_bps: float = 0.0
    ring_seconds: float = 0.0  # pre-roll the ring buffer holds now
    ring_bytes: int = 0
    ring_starts_on_keyframe: bool = True  # false would mean an undecodable pre-roll
    _window_start: float = field(default_factory=time.monotonic)
    _window_packets: int = 0
    _window_bytes: int = 0

    def on_packet(self, size: int, wallclock: float) -> None:
        if not self.packets:  # the window starts with the stream, not with the connection attempt
            self._window_start = time.monotonic()
        self.packets += 1
        self.bytes += size
        self.last_packet_at = wallclock
        self._window_packets += 1
        self._window_bytes += size
        elapsed = time.monotonic() - self._window_start
        if elapsed >= 2.0:  # a two-second window: steady enough to read, quick to show a drop
            self.fps = self._window_packets / elapsed
            self.bitrate_bps = self._window_bytes * 8 / elapsed
            self._window_start = time.monotonic()
            self._window_packets = self._window_bytes = 0

    def as_dict(self) -> dict[str, float | int | str | bool | None]:
        return {
            "packets": self.packets,
            "bytes": self.bytes,
            "frames_analysed": self.frames_analysed,
            "events": self.events,
            "last_packet_at": self.last_packet_at,
            "width": self.width,
            "height": self.height,
            "codec": self.codec,
            "fps": round(self.fps, 2),
            "bitrate_bps": round(self.bitrate_bps),
            "ring_seconds": round(self.ring_seconds, 2),
            "ring_bytes": self.ring_bytes,
            "ring_starts_on_keyframe": self.ring_starts_on_keyframe,
        }
