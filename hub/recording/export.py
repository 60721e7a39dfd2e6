"""Export a time range of continuous recording: MP4 segments stitched into one MP4, never re-encoded.

The export starts on the last keyframe at or before the range's start (a player needs it), keeps
the packets up to the range's end, and rebases their timestamps onto one continuous timeline.
It plays across a stream change (a new SPS, e.g. a new resolution): every keyframe carries its
parameter sets, and the sample entry then says so (``avc3``/``hev1``). Segments of another codec
cannot share the track: the export stops at the first one and says so in
:attr:`ExportFacts.stopped`. Blocking: call it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from hub.recording.remux import sha256_file
from hub.recording.sample_entry import mark_in_band_parameter_sets


@dataclass(frozen=True, slots=True)
class SegmentFile:
    path: Path
    start_wallclock: float  # wall clock of the segment's first frame


@dataclass(frozen=True, slots=True)
class ExportFacts:
    path: Path
    frames: int
    duration_s: float
    start_wallclock: float  # the first frame's (a keyframe at or before the range's start)
    end_wallclock: float  # the end of the last frame
    segments: int  # how many segments contributed packets
    sha256: str
    stopped: str | None = None  # why the export ends before the range does, if it does


@dataclass(slots=True)
class _Stitcher:
    start: float
    end: float
    out: OutputContainer
    out_stream: VideoStream | None = None
    signature: tuple[str, int, int, bytes] | None = None
    codec: str = ""
    changes: int = 0  # stream changes (new parameter sets) inside the export
    time_base: Fraction = Fraction(1, 90_000)
    clock: int = 0  # next dts, in ``time_base`` units
    frames: int = 0
    segments: int = 0
    first_wallclock: float | None = None
    last_end: float = 0.0
    done: bool = False
    pending: list[tuple[Packet[VideoStream], float]] = field(default_factory=list)

    def add(self, segment: SegmentFile) -> str | None:
        """Mux the wanted packets of ``segment``; a reason when it cannot join the export."""
        with av.open(str(segment.path)) as container:
            assert isinstance(container, InputContainer)
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if self.codec and ctx.name != self.codec:
                when = datetime.fromtimestamp(segment.start_wallclock, UTC).isoformat()
                return f"the codec changes at {when} ({ctx.name} {ctx.width}x{ctx.height})"
            frames = self.frames
            self._demux(container, stream, segment.start_wallclock)
            if self.frames > frames:  # only segments that gave packets shape the track
                signature = (ctx.name, ctx.width, ctx.height, bytes(ctx.extradata or b""))
                if self.signature is not None and signature != self.signature:
                    self.changes += 1  # the segment's keyframes carry the new parameter sets
                self.signature, self.codec = signature, ctx.name
        return None

    def _demux(self, container: InputContainer, stream: VideoStream, start_wallclock: float) -> None:
        tb = stream.time_base
        assert tb is not None
        first_dts: int | None = None
        used = False
        for packet in container.demux(stream):
            if packet.dts is None or packet.pts is None:
                continue  # the demuxer's end-of-stream marker
            first_dts = packet.dts if first_dts is None else first_dts
            at = start_wallclock + float((packet.dts - first_dts) * tb)
            if at >= self.end:
                self.done = True
                break
            if self.first_wallclock is None:
                # Before the range: keep only the latest keyframe and what follows it.
                if packet.is_keyframe and (at <= self.start or not self.pending):
                    self.pending = [(packet, at)]
                elif self.pending:
                    self.pending.append((packet, at))
                if at < self.start or not self.pending:
                    continue
                self.first_wallclock = self.pending[0][1]
                for kept, kept_at in self.pending:
                    self._mux(kept, kept_at, tb)
                self.pending = []
            else:
                self._mux(packet, at, tb)
            used = True
        self.pending = []  # a segment never hands its GOP to the next one
        self.segments += used

    def _mux(self, packet: Packet[VideoStream], at: float, tb: Fraction) -> None:
        if self.out_stream is None:  # the first segment that gives packets is the track's template
            self.out_stream = self.out.add_stream_from_template(packet.stream)
            assert packet.stream.time_base is not None
            self.time_base = packet.stream.time_base
        duration = round((packet.duration or 0) * tb / self.time_base) or round(0.1 / self.time_base)
        offset = round(max(0, (packet.pts or 0) - (packet.dts or 0)) * tb / self.time_base)
        packet.dts = self.clock
        packet.pts = self.clock + offset
        packet.duration = duration
        packet.time_base = self.time_base
        packet.stream = self.out_stream
        self.out.mux(packet)
        self.clock += duration
        self.frames += 1
        self.last_end = at + float(duration * self.time_base)


def export_range(segments: Sequence[SegmentFile], start: float, end: float, path: Path) -> ExportFacts:
    """Write the wall-clock range ``[start, end)`` of ``segments`` (any order) to ``path``.

    Raises ValueError when the segments hold no video in the range, and PyAV's errors
    (:class:`av.FFmpegError`) when a segment cannot be read.
    """
    if end <= start:
        raise ValueError("the range ends before it starts")
    ordered = sorted(segments, key=lambda s: s.start_wallclock)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    stopped: str | None = None
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            assert isinstance(out, OutputContainer)
            stitcher = _Stitcher(start, end, out)
            for segment in ordered:
                stopped = stitcher.add(segment)
                if stopped is not None or stitcher.done:
                    break
            if stitcher.frames == 0 or stitcher.first_wallclock is None:
                raise ValueError("no video in the range")
        if stitcher.changes:
            mark_in_band_parameter_sets(tmp, stitcher.codec)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return ExportFacts(
        path=path,
        frames=stitcher.frames,
        duration_s=float(stitcher.clock * stitcher.time_base),
        start_wallclock=stitcher.first_wallclock,
        end_wallclock=stitcher.last_end,
        segments=stitcher.segments,
        sha256=sha256_file(path),
        stopped=stopped,
    )
