"""Event clips: pre-roll + event + post-roll, one clip for events that overlap or follow closely.

:class:`ClipAssembler` is a pure state machine fed with packets and event starts/ends; it hands
back :class:`ClipJob` values (packets + the events they cover) for the pipeline to write in a
worker thread. It never does I/O, so its timing rules are tested without video.

A stream change (a new SPS, e.g. a camera switching resolution) does not cut the clip: one MP4
plays across it (see :func:`~hub.recording.remux.write_mp4`). Only a new codec or time base
would, and neither can change within one RTSP session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.source import EncodedPacket
from hub.recording.ring_buffer import PacketRingBuffer


@dataclass(frozen=True, slots=True)
class ClipPolicy:
    pre_roll_s: float = 5.0
    post_roll_s: float = 5.0
    max_clip_s: float = 120.0
    merge_gap_s: float = 3.0


@dataclass(slots=True)
class ClipJob:
    clip_id: str  # the first event's id: the clip's key is derived from it
    event_ids: list[str]
    packets: list[EncodedPacket]
    truncated: bool = False  # hit max_clip_s while an event was still open


@dataclass(slots=True)
class _ActiveClip:
    clip_id: str
    packets: list[EncodedPacket]
    open_events: set[str] = field(default_factory=set)
    event_ids: list[str] = field(default_factory=list)
    last_end: float | None = None

    @property
    def started(self) -> float:
        return self.packets[0].wallclock if self.packets else 0.0


def _same_track(packet: EncodedPacket, first: EncodedPacket) -> bool:
    """Whether ``packet`` can go in the track that ``first`` started (any stream generation)."""
    a, b = packet.stream, first.stream
    return a is b or (a.codec, a.time_base) == (b.codec, b.time_base)


class ClipAssembler:
    """One per camera. Call :meth:`on_packet` for every packet of the recorded stream."""

    def __init__(self, policy: ClipPolicy, ring: PacketRingBuffer) -> None:
        self.policy = policy
        self.ring = ring
        self._active: _ActiveClip | None = None
        self._waiting: list[str] = []  # events started before the first keyframe arrived

    @property
    def recording(self) -> bool:
        return self._active is not None

    def event_started(self, event_id: str, wallclock: float) -> None:
        active = self._active
        if active is not None:
            active.open_events.add(event_id)
            active.event_ids.append(event_id)
            return
        packets = self.ring.since(wallclock - self.policy.pre_roll_s)
        if not packets:
            self._waiting.append(event_id)
            return
        self._active = _ActiveClip(event_id, packets, {event_id}, [event_id])

    def event_ended(self, event_id: str, wallclock: float) -> None:
        if event_id in self._waiting:
            self._waiting.remove(event_id)
            return
        active = self._active
        if active is None or event_id not in active.open_events:
            return
        active.open_events.discard(event_id)
        if not active.open_events:
            active.last_end = wallclock

    def on_packet(self, packet: EncodedPacket) -> list[ClipJob]:
        self.ring.append(packet)
        jobs: list[ClipJob] = []
        active = self._active
        if active is None:
            if self._waiting and packet.is_keyframe:
                first, *rest = self._waiting
                self._waiting = []
                self._active = _ActiveClip(first, [packet], {first, *rest}, [first, *rest])
            return jobs
        if not _same_track(packet, active.packets[0]):
            jobs.append(self._finish())  # one MP4 track cannot take another codec
            return jobs
        active.packets.append(packet)
        if active.last_end is not None and not active.open_events:
            # Close once post-roll is covered; a new event within merge_gap_s extends the clip.
            if packet.wallclock >= active.last_end + max(self.policy.post_roll_s, self.policy.merge_gap_s):
                # No new event came: the clip still ends post_roll_s after the last event.
                jobs.append(self._finish(until=active.last_end + self.policy.post_roll_s))
        elif packet.wallclock - active.started >= self.policy.max_clip_s:
            jobs.append(self._finish())  # the event goes on; its clip stops at the maximum length
        return jobs

    def flush(self) -> list[ClipJob]:
        """Write whatever is being recorded now (shutdown or stream loss)."""
        self._waiting = []
        if self._active is None:
            return []
        return [self._finish()]

    def _finish(self, until: float | None = None) -> ClipJob:
        active = self._active
        assert active is not None
        self._active = None
        if until is not None:
            active.packets = [p for p in active.packets if p.wallclock <= until]
        # Events still open keep going without a clip: they were covered up to the cut.
        return ClipJob(active.clip_id, list(active.event_ids), active.packets, bool(active.open_events))
