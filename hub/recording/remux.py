"""Write encoded packets to an MP4 file without re-encoding, and measure what was written."""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from adapters.source import EncodedPacket
from hub.recording.sample_entry import mark_in_band_parameter_sets

log = logging.getLogger(__name__)

MAX_STEP_S = 5.0  # a larger gap between two frames is a camera clock jump, not real time
# A step this many typical frames long that the arrival times do not show (give or take the
# jitter) is a clock jump too: a camera resyncing its clock by a second or two.
JUMP_FRAMES = 4
ARRIVAL_JITTER_S = 1.0

Size = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ClipFacts:
    path: Path
    codec: str
    width: int  # of the first picture; ``sizes`` lists each one when the stream changes
    height: int
    frames: int
    duration_s: float
    bytes: int
    sha256: str
    start_wallclock: float
    end_wallclock: float
    sizes: tuple[Size, ...] = ()  # picture size of each stream generation in the file, in order


def _durations(packets: Sequence[EncodedPacket]) -> list[int]:
    """Per-packet durations in time-base units, with jumps and backward steps smoothed out."""
    tb = packets[0].stream.time_base
    max_step = int(MAX_STEP_S / tb)
    default = int(1 / (packets[0].stream.average_fps or 10.0) / tb) or 1
    steps: list[int] = []
    for current, following in itertools.pairwise(packets):
        step = following.dts - current.dts
        steps.append(step if 0 < step <= max_step else 0)
    good = sorted(s for s in steps if s > 0)
    typical = good[len(good) // 2] if good else default
    longest = JUMP_FRAMES * typical
    for i, step in enumerate(steps):
        if step > longest:  # rare: only then are the arrival times looked at
            arrived_s = packets[i + 1].wallclock - packets[i].wallclock
            if float(step * tb) > arrived_s + ARRIVAL_JITTER_S:
                steps[i] = 0
    steps = [s or typical for s in steps]
    steps.append(typical)  # the last frame lasts as long as a typical one
    return steps


def _playable(packets: Sequence[EncodedPacket]) -> list[EncodedPacket]:
    """The packets a player can decode in order: across stream generations, never across codecs.

    After a new SPS the packets before the new generation's first keyframe cannot be decoded;
    they are left out. A new codec or time base cannot share the track: the clip ends there
    (it cannot happen within one RTSP session, whose SDP fixes both).
    """
    first = current = packets[0].stream
    kept: list[EncodedPacket] = []
    for packet in packets:
        stream = packet.stream
        if stream is not current:  # packets of one generation mostly share one StreamInfo
            if (stream.codec, stream.time_base) != (first.codec, first.time_base):
                break
            if stream.generation != current.generation and not packet.is_keyframe:
                continue
            current = stream
        kept.append(packet)
    return kept


def picture_size(packet: EncodedPacket) -> Size:
    """Width and height from the keyframe's own SPS (FFmpeg's parser: headers only, ~0.2 ms).

    The source learns a new generation's size only when it decodes, and not at all on a stream
    it only records; the SPS in front of every keyframe always says it.
    """
    stream = packet.stream
    try:
        parser = av.CodecContext.create(stream.codec, "r")
        parser.parse(packet.data)
        parser.parse(None)
        size = (parser.width, parser.height) if isinstance(parser, av.VideoCodecContext) else (0, 0)
    except av.error.FFmpegError:  # a damaged SPS: the demuxer's figures are the best we have
        size = (0, 0)
    return size if size[0] > 0 and size[1] > 0 else (stream.width, stream.height)


def sha256_file(path: Path) -> str:
    """The checksum stored with every clip (about 1 GB/s: most of a clip's write cost)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_mp4(packets: Sequence[EncodedPacket], path: Path) -> ClipFacts:
    """Remux ``packets`` (starting on a keyframe) into ``path``.

    Timestamps are rebased to zero and made strictly increasing, so camera timestamp jumps
    and wrap-around cannot make the muxer fail. ``+faststart`` puts the index first so browsers
    can play the clip while it downloads. A clip may span a stream change (a new SPS, e.g. a new
    resolution): every keyframe carries its parameter sets, the sample entry then says so
    (``avc3``/``hev1``) and decoders re-initialise at the new SPS, so one file plays across it.
    """
    if not packets:
        raise ValueError("no packets to write")
    if not packets[0].is_keyframe:
        raise ValueError("a clip must start on a keyframe")
    first = packets[0].stream
    packets = _playable(packets)
    sizes = [picture_size(p) for p in _generation_starts(packets)]
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = _durations(packets)
    tmp = path.with_name(path.name + ".part")
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            width, height = sizes[0]
            stream = out.add_mux_stream(first.codec, width=width, height=height, time_base=first.time_base)
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
        if len(sizes) > 1:
            mark_in_band_parameter_sets(tmp, first.codec)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return ClipFacts(
        path=path,
        codec=first.codec,
        width=sizes[0][0],
        height=sizes[0][1],
        frames=len(packets),
        duration_s=float(sum(durations) * first.time_base),
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
        start_wallclock=packets[0].wallclock,
        end_wallclock=packets[-1].wallclock,
        sizes=tuple(sizes),
    )


def _generation_starts(packets: Sequence[EncodedPacket]) -> list[EncodedPacket]:
    """The first packet (a keyframe, after :func:`_playable`) of each stream generation."""
    starts = [packets[0]]
    for previous, packet in itertools.pairwise(packets):
        if packet.stream.generation != previous.stream.generation:
            starts.append(packet)
    return starts
