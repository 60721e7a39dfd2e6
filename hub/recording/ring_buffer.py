"""Pre-roll ring buffer of encoded packets, bounded by seconds and by bytes, keyframe-aligned."""

from __future__ import annotations

import collections

from adapters.source import EncodedPacket


class PacketRingBuffer:
    """Keeps the last ``max_seconds`` of packets (by wall clock), trimmed a whole GOP at a time.

    The buffer always starts on a keyframe, so any slice returned by :meth:`since` can be muxed
    on its own. The GOP being received is never trimmed, even when it alone exceeds the bounds.
    """

    def __init__(self, *, max_seconds: float, max_bytes: int) -> None:
        if max_seconds <= 0 or max_bytes <= 0:
            raise ValueError("ring buffer bounds must be positive")
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self._packets: collections.deque[EncodedPacket] = collections.deque()
        self._keyframes: collections.deque[int] = collections.deque()  # absolute indices
        self._base = 0  # absolute index of _packets[0]
        self.bytes = 0
        self.dropped_gops = 0

    def __len__(self) -> int:
        return len(self._packets)

    def append(self, packet: EncodedPacket) -> None:
        if not self._packets and not packet.is_keyframe:
            return  # wait for a keyframe: nothing before it is decodable
        last = self._packets[-1].stream if self._packets else None
        if last is not None and packet.stream.generation != last.generation:
            if not packet.is_keyframe:
                return  # a new generation is decodable only from its first keyframe
            if (packet.stream.codec, packet.stream.time_base) != (last.codec, last.time_base):
                self.clear()  # one MP4 track holds one codec; a new size plays on (avc3/hev1)
        if packet.is_keyframe:
            self._keyframes.append(self._base + len(self._packets))
        self._packets.append(packet)
        self.bytes += packet.size
        self._trim()

    def clear(self) -> None:
        self._base += len(self._packets)
        self._packets.clear()
        self._keyframes.clear()
        self.bytes = 0

    def _trim(self) -> None:
        newest = self._packets[-1].wallclock
        while len(self._keyframes) > 1:
            second_gop = self._keyframes[1] - self._base
            # Drop the oldest GOP only if what remains still covers max_seconds, or bytes overflow.
            covers = newest - self._packets[second_gop].wallclock >= self.max_seconds
            if not (covers or self.bytes > self.max_bytes):
                break
            for _ in range(second_gop):
                self.bytes -= self._packets.popleft().size
            self._base += second_gop
            self._keyframes.popleft()
            self.dropped_gops += 1

    def since(self, wallclock: float) -> list[EncodedPacket]:
        """Packets from the last keyframe at or before ``wallclock`` (or the oldest one) to now."""
        if not self._packets:
            return []
        start = self._keyframes[0] - self._base
        for absolute in self._keyframes:
            index = absolute - self._base
            if self._packets[index].wallclock <= wallclock:
                start = index
            else:
                break
        return list(self._packets)[start:]

    @property
    def starts_on_keyframe(self) -> bool:
        """The invariant that makes any pre-roll decodable (true when empty)."""
        return not self._packets or self._packets[0].is_keyframe

    @property
    def seconds(self) -> float:
        if not self._packets:
            return 0.0
        return self._packets[-1].wallclock - self._packets[0].wallclock
