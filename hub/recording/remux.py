"""Write encoded packets to an MP4 file without re-encoding, and measure what was written."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av

from adapters.source import EncodedPacket

MAX_STEP_S = 5.0  # a larger gap between two frames is a camera clock jump, not real time


@dataclass(frozen=True, slots=True)
class ClipFacts:
    path: Path
    codec: str
    width: int
    height: int
    frames: int
    duration_s: float
    bytes: int
    sha256: str
    start_wallclock: float
    end_wallclock: float


def _durations(packets: Sequence[EncodedPacket]) -> list[int]:
    """Per-packet durations in time-base units, with jumps and backward steps smoothed out."""
    tb = packets[0].stream.time_base
    max_step = int(MAX_STEP_S / tb)
    default = int(1 / (packets[0].stream.average_fps or 10.0) / tb) or 1
    steps: list[int] = []
    for current, following in itertools.pairwise(packets):
        step = following.dts - current.dts
        steps.append(step if 0 < step <= max_step else 0)
    good = [s for s in steps if s > 0]
    typical = sorted(good)[len(good) // 2] if good else default
    steps = [s or typical for s in steps]
    steps.append(typical)  # the last frame lasts as long as a typical one
    return steps


def sha256_file(path: Path) -> str:
    """The checksum stored with every clip (about 1 GB/s: most of a clip's write cost)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_mp4(packets: Sequence[EncodedPacket], path: Path) -> ClipFacts:
    """Remux ``packets`` (starting on a keyframe, one stream generation) into ``path``.

    Timestamps are rebased to zero and made strictly increasing, so camera timestamp jumps
    and wrap-around cannot make the muxer fail. ``+faststart`` puts the index first so browsers
    can play the clip while it downloads.
    """
    if not packets:
        raise ValueError("no packets to write")
    if not packets[0].is_keyframe:
        raise ValueError("a clip must start on a keyframe")
    first = packets[0].stream
    packets = [p for p in packets if p.stream.generation == first.generation]
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = _durations(packets)
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_mux_stream(
            first.codec, width=first.width, height=first.height, time_base=first.time_base
        )
        pts = 0
        for packet, duration in zip(packets, durations, strict=True):
            av_packet = av.Packet(packet.data)
            av_packet.dts = pts
            av_packet.pts = pts + max(0, packet.pts - packet.dts)  # keeps B-frame reordering
            av_packet.duration = duration
            av_packet.time_base = first.time_base
            av_packet.is_keyframe = packet.is_keyframe
            av_packet.stream = stream
            out.mux(av_packet)
            pts += duration
    tmp.replace(path)
    return ClipFacts(
        path=path,
        codec=first.codec,
        width=first.width,
        height=first.height,
        frames=len(packets),
        duration_s=float(sum(durations) * first.time_base),
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
        start_wallclock=packets[0].wallclock,
        end_wallclock=packets[-1].wallclock,
    )
