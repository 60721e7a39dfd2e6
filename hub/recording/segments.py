"""Continuous recording: the recorded stream cut into fixed-length segments on keyframes.

:class:`SegmentCutter` is a pure state machine like :class:`~hub.recording.clips.ClipAssembler`:
fed every packet of the recorded stream, it hands back :class:`SegmentJob` values for the
pipeline to write. A segment starts on a keyframe and is cut at the first keyframe at or after
``segment_s`` seconds (wall clock) from its start, so segments abut and each plays on its own.
A new stream generation (new SPS) cuts at once, so each segment, and its row in the index, has
one codec and picture size; nothing is lost at the cut, and an export plays across it
(:mod:`hub.recording.export`).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.source import EncodedPacket

DEFAULT_FRAME_S = 0.1  # the last frame's length when the stream does not say its rate


@dataclass(slots=True)
class SegmentJob:
    packets: list[EncodedPacket]
    start_wallclock: float  # the first packet's wall clock
    end_wallclock: float  # where the next segment starts (or the last frame's end)


class SegmentCutter:
    """One per camera. Call :meth:`on_packet` for every packet, :meth:`flush` when the stream ends."""

    def __init__(self, segment_s: float) -> None:
        if segment_s <= 0:
            raise ValueError(f"segment_s must be positive, got {segment_s:g}")
        self.segment_s = segment_s
        self._packets: list[EncodedPacket] = []

    @property
    def recording(self) -> bool:
        return bool(self._packets)

    def on_packet(self, packet: EncodedPacket) -> list[SegmentJob]:
        current = self._packets
        if not current:
            if packet.is_keyframe:  # packets before the first keyframe cannot be decoded: dropped
                self._packets = [packet]
            return []
        first = current[0]
        if packet.stream.generation != first.stream.generation:
            job = self._cut(packet.wallclock)
            self._packets = [packet] if packet.is_keyframe else []
            return [job]
        if packet.is_keyframe and packet.wallclock - first.wallclock >= self.segment_s:
            job = self._cut(packet.wallclock)
            self._packets = [packet]
            return [job]
        current.append(packet)
        return []

    def flush(self) -> list[SegmentJob]:
        """The segment being recorded now (shutdown or stream loss), if any."""
        if not self._packets:
            return []
        last = self._packets[-1]
        fps = last.stream.average_fps
        return [self._cut(last.wallclock + (1 / fps if fps else DEFAULT_FRAME_S))]

    def _cut(self, end_wallclock: float) -> SegmentJob:
        packets, self._packets = self._packets, []
        start = packets[0].wallclock
        return SegmentJob(packets, start, max(end_wallclock, start))
