"""The pre-roll ring: fake 10 fps packets with a keyframe every 20 (a 2 s GOP)."""

from __future__ import annotations

import dataclasses

import pytest

from adapters.source import EncodedPacket
from hub.recording.ring_buffer import PacketRingBuffer
from tests.fixtures.media import T0, PacketFactory, frame_index

BIG = 10**9


def fill(
    ring: PacketRingBuffer, make: PacketFactory, indices: range, *, size: int = 100, generation: int = 0
) -> None:
    for index in indices:
        ring.append(make(index, size=size, generation=generation))


def indices(packets: list[EncodedPacket]) -> list[int]:
    return [frame_index(p) for p in packets]


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^ring buffer bounds must be positive$"):
        PacketRingBuffer(max_seconds=0, max_bytes=1)
    with pytest.raises(ValueError, match=r"^ring buffer bounds must be positive$"):
        PacketRingBuffer(max_seconds=1, max_bytes=0)


def test_leading_non_keyframes_are_dropped(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=10, max_bytes=BIG)
    fill(ring, packet_factory, range(5, 25))
    assert indices(ring.since(T0)) == list(range(20, 25))
    assert len(ring) == 5
    assert ring.bytes == 500


def test_empty_ring(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=10, max_bytes=BIG)
    fill(ring, packet_factory, range(1, 20))
    assert len(ring) == 0
    assert ring.since(T0 + 100) == []
    assert ring.seconds == 0.0


def test_trims_whole_gops_by_seconds(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=4.0, max_bytes=BIG)
    fill(ring, packet_factory, range(100))  # 0.0 .. 9.9 s
    # The oldest GOP goes only while the rest still covers 4 s: 6.0 .. 9.9 would be 3.9 s.
    assert indices(ring.since(T0)) == list(range(40, 100))
    assert ring.seconds == pytest.approx(5.9)
    assert ring.dropped_gops == 2
    assert ring.bytes == 60 * 100


def test_trims_whole_gops_by_bytes(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=60.0, max_bytes=5000)  # 2.5 GOPs of 2000 bytes
    fill(ring, packet_factory, range(50))
    assert (ring.bytes, ring.dropped_gops) == (5000, 0)  # at the limit, not over it
    ring.append(packet_factory(50))
    assert indices(ring.since(T0)) == list(range(20, 51))
    fill(ring, packet_factory, range(51, 80))
    assert indices(ring.since(T0)) == list(range(40, 80))
    assert ring.bytes == 4000
    assert ring.dropped_gops == 2


def test_keeps_the_current_gop_even_over_the_bounds(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=0.5, max_bytes=1000)
    fill(ring, packet_factory, range(60), size=200)  # one GOP is 4000 bytes and 1.9 s
    assert indices(ring.since(T0)) == list(range(40, 60))
    assert ring.bytes == 4000
    assert ring.dropped_gops == 2


def test_since_starts_at_the_last_keyframe_at_or_before(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=30.0, max_bytes=BIG)
    fill(ring, packet_factory, range(70))
    assert frame_index(ring.since(T0 + 4.0)[0]) == 40  # exactly on a keyframe
    assert frame_index(ring.since(T0 + 5.9)[0]) == 40
    assert frame_index(ring.since(T0 + 3.99)[0]) == 20
    assert frame_index(ring.since(T0 + 100)[0]) == 60
    assert indices(ring.since(T0 - 100)) == list(range(70))  # before the buffer: the oldest keyframe
    assert frame_index(ring.since(T0 + 5.9)[-1]) == 69


def test_since_after_trimming_uses_absolute_positions(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=4.0, max_bytes=BIG)
    fill(ring, packet_factory, range(130))
    assert indices(ring.since(T0)) == list(range(80, 130))
    assert frame_index(ring.since(T0 + 11.0)[0]) == 100
    assert frame_index(ring.since(T0 + 12.0)[0]) == 120


def test_a_new_size_keeps_the_pre_roll_from_its_first_keyframe_on(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=30.0, max_bytes=BIG)
    fill(ring, packet_factory, range(30))
    ring.append(packet_factory(30, generation=1))  # not a keyframe: undecodable, dropped
    assert len(ring) == 30
    ring.append(packet_factory(31, generation=1, keyframe=True))
    fill(ring, packet_factory, range(32, 35), generation=1)
    packets = ring.since(T0)
    assert indices(packets) == [*range(30), 31, 32, 33, 34]  # one MP4 plays across a new size
    assert [p.stream.generation for p in packets] == [0] * 30 + [1] * 4
    assert ring.bytes == 3400
    assert ring.starts_on_keyframe


def test_another_codec_clears_the_ring(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=30.0, max_bytes=BIG)
    fill(ring, packet_factory, range(30))
    first = packet_factory(31, generation=1, keyframe=True)
    hevc = dataclasses.replace(first, stream=dataclasses.replace(first.stream, codec="hevc"))
    ring.append(hevc)
    assert indices(ring.since(T0)) == [31]
    assert ring.bytes == 100


def test_clear(packet_factory: PacketFactory) -> None:
    ring = PacketRingBuffer(max_seconds=30.0, max_bytes=BIG)
    fill(ring, packet_factory, range(25))
    ring.clear()
    assert (len(ring), ring.bytes, ring.since(T0)) == (0, 0, [])
    fill(ring, packet_factory, range(25, 45))
    assert indices(ring.since(T0)) == list(range(40, 45))
