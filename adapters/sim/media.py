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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import av

RTP_CLOCK = 90_000  # Hz, the RTP video clock (RFC 6184)
NAL_SPS = 7
NAL_PPS = 8
NAL_IDR = 5


@dataclass(frozen=True, slots=True)
class AccessUnit:
    """One picture: its NAL units (no start codes) and its place on the file's timeline."""

    nals: tuple[bytes, ...]
    rtp_offset: int  # presentation time from the file start, 90 kHz
    send_offset: float  # decode time from the file start, seconds: when it goes on the wire
    is_keyframe: bool


@dataclass(frozen=True, slots=True)
class Media:
    """An H.264 clip in memory, ready to packetize."""

    codec: str
    width: int
    height: int
    fps: float
    sps: bytes
    pps: bytes
    units: tuple[AccessUnit, ...]
    duration: int  # 90 kHz; one loop of the file

    @property
    def duration_seconds(self) -> float:
        return self.duration / RTP_CLOCK


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def split_avcc(data: bytes, length_size: int = 4) -> list[bytes]:
    """Split length-prefixed (AVCC, mp4) NAL units."""
    nals: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + length_size > len(data):
            raise ValueError(f"truncated NAL length at offset {offset} of {len(data)} bytes")
        length = int.from_bytes(data[offset : offset + length_size], "big")
        offset += length_size
        if length == 0 or offset + length > len(data):
            raise ValueError(f"bad NAL length {length} at offset {offset - length_size} of {len(data)} bytes")
        nals.append(data[offset : offset + length])
        offset += length
    return nals


def split_annexb(data: bytes) -> list[bytes]:
    """Split Annex B (start-code delimited) NAL units."""
    parts = data.split(b"\x00\x00\x01")
    nals = [part.rstrip(b"\x00") if i < len(parts) - 1 else part for i, part in enumerate(parts)]
    return [nal for nal in nals[1:] if nal]


def parse_avcc_extradata(extradata: bytes) -> tuple[int, list[bytes], list[bytes]]:
    """``(NAL length size, SPS list, PPS list)`` from an ISO 14496-15 ``avcC`` record."""
    if len(extradata) < 7:
        raise ValueError(f"avcC too short: {len(extradata)} bytes")
    if extradata[0] != 1:
        raise ValueError(f"unsupported avcC version: {extradata[0]}")
    length_size = (extradata[4] & 0x03) + 1
    offset = 5
    sets: list[list[bytes]] = []
    for count_mask in (0x1F, 0xFF):
        if offset >= len(extradata):
            raise ValueError(f"avcC truncated at offset {offset}")
        count = extradata[offset] & count_mask
        offset += 1
        found: list[bytes] = []
        for _ in range(count):
            size = int.from_bytes(extradata[offset : offset + 2], "big")
            offset += 2
            if size == 0 or offset + size > len(extradata):
                raise ValueError(f"avcC parameter set of {size} bytes overruns the record at offset {offset}")
            found.append(extradata[offset : offset + size])
            offset += size
        sets.append(found)
    return length_size, sets[0], sets[1]


def load_media(path: Path) -> Media:
    """Demux an H.264 file into memory (blocking: call it through ``run_in_executor``)."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path.name}: no video stream")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        if codec != "h264":
            raise ValueError(f"{path.name}: unsupported codec {codec!r}, expected 'h264'")
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
    annexb = not extradata or extradata.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01"))
    if annexb:
        params = split_annexb(extradata)
        sps_list = [n for n in params if nal_type(n) == NAL_SPS]
        pps_list = [n for n in params if nal_type(n) == NAL_PPS]
    else:
        length_size, sps_list, pps_list = parse_avcc_extradata(extradata)
    nal_lists = [split_annexb(data) if annexb else split_avcc(data, length_size) for data, *_ in packets]
    if not sps_list or not pps_list:  # Annex B files may carry them in-band only
        in_band = [n for nals in nal_lists for n in nals]
        sps_list = sps_list or [n for n in in_band if nal_type(n) == NAL_SPS]
        pps_list = pps_list or [n for n in in_band if nal_type(n) == NAL_PPS]
    if not sps_list or not pps_list:
        raise ValueError(f"{path.name}: no SPS/PPS found")
    sps, pps = sps_list[0], pps_list[0]
    first_pts, first_dts = min(p[1] for p in packets), packets[0][2]
    steps = [b[2] - a[2] for a, b in itertools.pairwise(packets)] or [packets[0][3] or 1]
    frame_step = int(statistics.median(steps))
    units: list[AccessUnit] = []
    for (_data, pts, dts, _duration, key), nals in zip(packets, nal_lists, strict=True):
        if key and not any(nal_type(n) == NAL_SPS for n in nals):
            nals = [sps, pps, *nals]  # cameras repeat the parameter sets before every IDR
        units.append(
            AccessUnit(
                nals=tuple(nals),
                rtp_offset=round((pts - first_pts) * time_base * RTP_CLOCK),
                send_offset=float((dts - first_dts) * time_base),
                is_keyframe=key,
            )
        )
    last_pts = max(p[1] for p in packets)
    duration = round((last_pts - first_pts + (packets[-1][3] or frame_step)) * time_base * RTP_CLOCK)
    fps = float(rate) if rate else float(1 / (frame_step * time_base))
    return Media(codec, width, height, fps, sps, pps, tuple(units), duration)


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
