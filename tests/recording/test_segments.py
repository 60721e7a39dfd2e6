"""SegmentCutter as a pure state machine: fake 10 fps packets, a keyframe every 2 s."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import pytest

from adapters.source import EncodedPacket
from hub.recording.remux import write_mp4
from hub.recording.segments import SegmentCutter, SegmentJob
from tests.fixtures.media import FPS, T0, PacketFactory, Scene, frame_index, read_file_packets


def feed(
    cutter: SegmentCutter, make: PacketFactory, indexes: range, *, generation: int = 0, gop: int = 20
) -> list[SegmentJob]:
    jobs: list[SegmentJob] = []
    for index in indexes:
        jobs.extend(cutter.on_packet(make(index, generation=generation, gop=gop)))
    return jobs


def test_segments_are_cut_at_the_first_keyframe_at_or_after_the_boundary(
    packet_factory: PacketFactory,
) -> None:
    cutter = SegmentCutter(5.0)  # keyframes every 20 frames (2 s): cuts at 6 s, 12 s

    jobs = feed(cutter, packet_factory, range(130))

    assert [(frame_index(j.packets[0]), frame_index(j.packets[-1])) for j in jobs] == [(0, 59), (60, 119)]
    assert [(j.start_wallclock, j.end_wallclock) for j in jobs] == [(T0, T0 + 6.0), (T0 + 6.0, T0 + 12.0)]
    assert all(j.packets[0].is_keyframe for j in jobs)


def test_a_boundary_on_a_keyframe_cuts_there(packet_factory: PacketFactory) -> None:
    jobs = feed(SegmentCutter(4.0), packet_factory, range(81))

    assert [frame_index(j.packets[0]) for j in jobs] == [0, 40]
    assert [len(j.packets) for j in jobs] == [40, 40]


def test_packets_before_the_first_keyframe_are_dropped(packet_factory: PacketFactory) -> None:
    cutter = SegmentCutter(5.0)

    assert feed(cutter, packet_factory, range(5, 20)) == []
    assert not cutter.recording
    assert cutter.on_packet(packet_factory(20)) == []
    assert cutter.recording


def test_a_new_generation_cuts_at_once(packet_factory: PacketFactory) -> None:
    cutter = SegmentCutter(60.0)
    first = feed(cutter, packet_factory, range(30))

    jobs = feed(cutter, packet_factory, range(30, 45), generation=1, gop=15)

    assert first == []
    assert len(jobs) == 1
    assert [frame_index(p) for p in jobs[0].packets] == list(range(30))
    assert jobs[0].end_wallclock == pytest.approx(T0 + 3.0)
    tail = cutter.flush()
    assert [frame_index(p) for p in tail[0].packets] == list(range(30, 45))
    assert {p.stream.generation for p in tail[0].packets} == {1}


def test_a_new_generation_waits_for_its_keyframe(packet_factory: PacketFactory) -> None:
    cutter = SegmentCutter(60.0)
    feed(cutter, packet_factory, range(10))

    jobs = feed(cutter, packet_factory, range(10, 16), generation=1, gop=16)

    assert len(jobs) == 1
    assert not cutter.recording  # frames 10..15 of generation 1 have no keyframe yet
    assert cutter.flush() == []


def test_flush_ends_the_segment_one_frame_after_its_last_packet(packet_factory: PacketFactory) -> None:
    cutter = SegmentCutter(60.0)
    feed(cutter, packet_factory, range(25))

    (job,) = cutter.flush()

    assert len(job.packets) == 25
    assert job.end_wallclock == pytest.approx(T0 + 25 / FPS)
    assert cutter.flush() == []


def test_segment_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^segment_s must be positive, got 0$"):
        SegmentCutter(0)


def test_a_resolution_change_loses_no_frame_and_each_segment_has_its_size(
    single_slice_packets: list[EncodedPacket], small_scene: Scene, tmp_path: Path
) -> None:
    large = single_slice_packets[:30]
    step = large[1].dts - large[0].dts
    # What the source hands out for a stream it only records: the new generation, the old size.
    stale = dataclasses.replace(large[0].stream, generation=1)
    small = [
        dataclasses.replace(p, pts=p.pts + 30 * step, dts=p.dts + 30 * step, stream=stale)
        for p in read_file_packets(small_scene.path)
    ]
    cutter = SegmentCutter(60.0)
    jobs = [job for p in [*large, *small] for job in cutter.on_packet(p)] + cutter.flush()

    facts = [write_mp4(job.packets, tmp_path / f"{i}.mp4") for i, job in enumerate(jobs)]

    assert [(f.width, f.height, f.frames) for f in facts] == [(640, 360, 30), (320, 180, 20)]
    for f in facts:
        with av.open(str(f.path)) as container:
            assert sum(1 for _ in container.decode(video=0)) == f.frames
