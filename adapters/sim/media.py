"""Media held in memory and played as an endless live stream.

A file is demuxed once (no decoding) into access units of NAL units, so the server never touches
the disk or FFmpeg while streaming. :class:`MediaLoop` is the camera's playback position: one per
camera stream, shared by all its clients, looping the file with RTP timestamps that keep growing
across loops, as a live camera's do.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av

from adapters.rtsp import nal

RTP_CLOCK = 90_000  # Hz, the RTP video clock (RFC 6184, RFC 7798)
CODECS = ("h264", "hevc")
_SPS = {"h264": nal.H264_SPS, "hevc": nal.HEVC_SPS}
_PPS = {"h264": nal.H264_PPS, "hevc": nal.HEVC_PPS}


@dataclass(frozen=True, slots=True)
class AccessUnit:
    """One picture: its NAL units (no start codes) and its place on the file's timeline."""

    nals: tuple[bytes, ...]
    rtp_offset: int  # presentation time from the file start, 90 kHz
    send_offset: float  # decode time from the file start, seconds: when it goes on the wire
    is_keyframe: bool


@dataclass(frozen=True, slots=True)
class Media:
    """An H.264 or H.265 clip in memory, ready to packetize."""

    codec: str  # "h264" or "hevc"
    width: int
    height: int
    fps: float
    sps: bytes
    pps: bytes
    units: tuple[AccessUnit, ...]
    duration: int  # 90 kHz; one loop of the file
    vps: bytes = b""  # H.265 only

    @property
    def duration_seconds(self) -> float:
        return self.duration / RTP_CLOCK

    @property
    def parameter_sets(self) -> tuple[bytes, ...]:
        """VPS (H.265), SPS and PPS, in the order they go in front of a keyframe."""
        return (self.vps, self.sps, self.pps) if self.codec == "hevc" else (self.sps, self.pps)


def nal_type(unit: bytes) -> int:
    """The H.264 ``nal_unit_type`` (older callers; new code uses :func:`adapters.rtsp.nal.nal_type`)."""
    return nal.nal_type("h264", unit)


split_avcc = nal.split_length_prefixed  # older callers: AVCC samples


def _first(codec: str, kind: int, units: list[bytes]) -> bytes:
    return next((u for u in units if nal.nal_type(codec, u) == kind), b"")


def build_media(
    codec: str,
    width: int,
    height: int,
    fps: float,
    units: list[AccessUnit],
    duration: int,
    *,
    parameter_sets: Sequence[bytes] = (),
    name: str = "media",
) -> Media:
    """A :class:`Media` whose keyframes all start with the parameter sets.

    ``parameter_sets`` come from the extradata; without them the first in-band ones are used.
    """
    if codec not in CODECS:
        raise ValueError(f"{name}: unsupported codec {codec!r}, expected 'h264' or 'hevc'")
    in_band = [n for u in units if u.is_keyframe for n in u.nals if nal.is_parameter_set(codec, n)]
    found = [*parameter_sets, *in_band]
    sps, pps = _first(codec, _SPS[codec], found), _first(codec, _PPS[codec], found)
    vps = _first(codec, nal.HEVC_VPS, found) if codec == "hevc" else b""
    if not sps or not pps or (codec == "hevc" and not vps):
        raise ValueError(f"{name}: no {'VPS/' if codec == 'hevc' else ''}SPS/PPS found")
    sets = (vps, sps, pps) if codec == "hevc" else (sps, pps)
    complete = [
        # Cameras repeat the parameter sets before every keyframe.
        AccessUnit((*sets, *u.nals), u.rtp_offset, u.send_offset, True)
        if u.is_keyframe and not any(nal.nal_type(codec, n) == _SPS[codec] for n in u.nals)
        else u
        for u in units
    ]
    return Media(codec, width, height, fps, sps, pps, tuple(complete), duration, vps)


def load_media(path: Path) -> Media:
    """Demux an H.264 or H.265 file into memory (blocking: call it through ``run_in_executor``)."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path.name}: no video stream")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        if codec not in CODECS:
            raise ValueError(f"{path.name}: unsupported codec {codec!r}, expected 'h264' or 'hevc'")
        extradata = bytes(stream.codec_context.extradata or b"")
        time_base = stream.time_base
        packets = [
            (bytes(p), p.pts, p.dts, p.duration, p.is_keyframe)
            for p in container.demux(stream)
            if p.size and p.pts is not None and p.dts is not None
        ]
        width, height = stream.codec_context.width, stream.codec_context.height
        rate = stream.average_rate
    if not packets or time_base is None:
        raise ValueError(f"{path.name}: no video packets")
    length_size = nal.length_size_for(codec, extradata)
    params = [
        n for n in nal.parameter_sets_from_extradata(codec, extradata) if nal.is_parameter_set(codec, n)
    ]
    first_pts, first_dts = min(p[1] for p in packets), packets[0][2]
    steps = [b[2] - a[2] for a, b in itertools.pairwise(packets)] or [packets[0][3] or 1]
    frame_step = int(statistics.median(steps))
    units = [
        AccessUnit(
            nals=tuple(
                nal.split_length_prefixed(data, length_size) if length_size else nal.split_annexb(data)
            ),
            rtp_offset=round((pts - first_pts) * time_base * RTP_CLOCK),
            send_offset=float((dts - first_dts) * time_base),
            is_keyframe=key,
        )
        for data, pts, dts, _duration, key in packets
    ]
    last_pts = max(p[1] for p in packets)
    duration = round((last_pts - first_pts + (packets[-1][3] or frame_step)) * time_base * RTP_CLOCK)
    fps = float(rate) if rate else float(1 / (frame_step * time_base))
    return build_media(codec, width, height, fps, units, duration, parameter_sets=params, name=path.name)


@dataclass(frozen=True, slots=True)
class ScheduledUnit:
    """An access unit placed on the endless live timeline."""

    index: int  # global position: loop * len(units) + unit index
    unit: AccessUnit
    rtp_timestamp: int  # 32-bit, wraps
    due: float  # clock time at which it should be sent


class MediaLoop:
    """The playback position of one camera stream, shared by all its clients.

    Timestamps are computed from the global index only, so they stay continuous across loops and
    across pacing resyncs; wall-clock pacing is anchored at ``epoch`` and re-anchored when the
    sender falls more than ``max_lag`` behind (a stalled event loop must not cause a burst).
    """

    def __init__(
        self,
        media: Media,
        *,
        rtp_base: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_lag: float = 1.0,
    ) -> None:
        self.media = media
        self.rtp_base = random.getrandbits(32) if rtp_base is None else rtp_base
        self._clock = clock
        self._max_lag = max_lag
        self.epoch = clock()
        self.next_index = 0

    def switch(self, media: Media) -> None:
        """Play ``media`` from now on: another version of the same clip (same timeline)."""
        if len(media.units) != len(self.media.units) or media.duration != self.media.duration:
            raise ValueError(
                f"cannot switch to media of {len(media.units)} units / {media.duration} ticks, "
                f"playing {len(self.media.units)} units / {self.media.duration} ticks"
            )
        self.media = media

    def unit_at(self, index: int) -> ScheduledUnit:
        loops, position = divmod(index, len(self.media.units))
        unit = self.media.units[position]
        rtp = (self.rtp_base + loops * self.media.duration + unit.rtp_offset) % 2**32
        due = self.epoch + loops * self.media.duration_seconds + unit.send_offset
        return ScheduledUnit(index=index, unit=unit, rtp_timestamp=rtp, due=due)

    def next_keyframe_index(self, start: int | None = None) -> int:
        """The first keyframe at or after ``start`` (default: the next unit to be sent)."""
        index = self.next_index if start is None else start
        for candidate in range(index, index + len(self.media.units) + 1):
            if self.unit_at(candidate).unit.is_keyframe:
                return candidate
        raise ValueError("media has no keyframe")

    def rtp_timestamp_at(self, when: float) -> int:
        """The RTP timestamp that corresponds to clock time ``when`` (for RTCP sender reports)."""
        return (self.rtp_base + round((when - self.epoch) * RTP_CLOCK)) % 2**32

    async def play(self) -> AsyncIterator[ScheduledUnit]:
        """Yield units forever, each at its due time."""
        while True:
            scheduled = self.unit_at(self.next_index)
            delay = scheduled.due - self._clock()
            if delay < -self._max_lag:
                self.epoch -= delay
                scheduled = self.unit_at(self.next_index)
            elif delay > 0:
                await asyncio.sleep(delay)
            self.next_index += 1
            yield scheduled
