"""export_range: three real x264 segments (written with write_mp4) stitched back without re-encoding."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import av
import pytest

from adapters.sim.substream import make_substream
from adapters.source import EncodedPacket
from hub.recording.export import ExportFacts, SegmentFile, export_range
from hub.recording.remux import write_mp4
from hub.recording.segments import SegmentCutter
from tests.fixtures.media import FPS, GOP_SECONDS, Scene, read_file_packets

T = 1_700_000_000.0  # wall clock of the first frame
GOP_S = GOP_SECONDS


def _timed(packets: list[EncodedPacket], start: float, generation: int = 0) -> list[EncodedPacket]:
    """The packets as a camera would deliver them live: wall clock = start + presentation time."""
    origin = packets[0].pts_seconds
    stream = dataclasses.replace(packets[0].stream, generation=generation)
    return [dataclasses.replace(p, wallclock=start + p.pts_seconds - origin, stream=stream) for p in packets]


def _segments(packets: list[EncodedPacket], directory: Path, segment_s: float) -> list[SegmentFile]:
    cutter = SegmentCutter(segment_s)
    jobs = [job for p in packets for job in cutter.on_packet(p)] + cutter.flush()
    return [
        SegmentFile(write_mp4(job.packets, directory / f"{i}.mp4").path, job.start_wallclock)
        for i, job in enumerate(jobs)
    ]


@pytest.fixture(scope="module")
def segments(
    single_slice_packets: list[EncodedPacket], tmp_path_factory: pytest.TempPathFactory
) -> list[SegmentFile]:
    """6 s of 640x360 cut into three 2 s segments (the GOP is 2 s)."""
    return _segments(_timed(single_slice_packets, T), tmp_path_factory.mktemp("segments"), GOP_S)


def _decode(path: Path) -> tuple[int, list[int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        dts = [p.dts for p in container.demux(stream) if p.dts is not None]
        container.seek(0)
        frames = sum(1 for _ in container.decode(stream))
    return frames, dts


def test_three_segments_are_written(segments: list[SegmentFile]) -> None:
    assert [s.start_wallclock - T for s in segments] == pytest.approx([0.0, 2.0, 4.0])


def test_a_range_over_two_segments_is_one_continuous_mp4(segments: list[SegmentFile], tmp_path: Path) -> None:
    start, end = T + 1.5, T + 3.5

    facts = export_range(segments, start, end, tmp_path / "out.mp4")

    assert facts.segments == 2
    assert facts.stopped is None
    assert facts.start_wallclock == pytest.approx(T)  # the keyframe at or before the start
    assert start - GOP_S <= facts.start_wallclock <= start
    assert facts.frames == round((end - facts.start_wallclock) * FPS) == 35
    assert facts.duration_s == pytest.approx(3.5, abs=1 / FPS)
    frames, dts = _decode(facts.path)
    assert frames == facts.frames
    steps = {b - a for a, b in itertools.pairwise(dts)}
    assert len(steps) == 1 and steps.pop() > 0  # no gap and no jump where the segments meet


def test_a_range_starting_on_a_keyframe_starts_there(segments: list[SegmentFile], tmp_path: Path) -> None:
    facts = export_range(segments, T + 2.0, T + 6.0, tmp_path / "out.mp4")

    assert facts.start_wallclock == pytest.approx(T + 2.0)
    assert facts.frames == 40
    assert facts.segments == 2


def test_a_range_outside_the_segments_has_no_video(segments: list[SegmentFile], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^no video in the range$"):
        export_range(segments, T + 60, T + 70, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4.part").exists()


def test_an_empty_range_is_refused(segments: list[SegmentFile], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^the range ends before it starts$"):
        export_range(segments, T + 2, T + 2, tmp_path / "out.mp4")


def test_the_export_plays_across_a_resolution_change(
    segments: list[SegmentFile], small_scene: Scene, tmp_path: Path
) -> None:
    small = _timed(read_file_packets(small_scene.path), T + 6.0, generation=1)
    later = _segments(small, tmp_path, 10.0)

    facts: ExportFacts = export_range([*segments, *later], T + 4.5, T + 7.5, tmp_path / "out.mp4")

    assert facts.stopped is None
    assert (facts.segments, facts.frames) == (2, 35)  # 4.0 s (a keyframe) to 7.5 s
    assert facts.end_wallclock == pytest.approx(T + 7.5, abs=1 / FPS)
    with av.open(str(facts.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.codec_tag == "avc3"  # the new SPS comes in the stream
        sizes = [(frame.width, frame.height) for frame in container.decode(stream)]
    assert sizes == [(640, 360)] * 20 + [(320, 180)] * 15


def test_the_export_stops_where_the_codec_changes(
    segments: list[SegmentFile], small_scene: Scene, tmp_path: Path
) -> None:
    hevc = make_substream(small_scene.path, tmp_path / "small-hevc.mp4", 320, 180, codec="hevc")
    later = _segments(_timed(read_file_packets(hevc), T + 6.0, generation=1), tmp_path, 10.0)

    facts = export_range([*segments, *later], T + 4.5, T + 7.5, tmp_path / "out.mp4")

    assert facts.stopped is not None and "hevc 320x180" in facts.stopped
    assert facts.end_wallclock == pytest.approx(T + 6.0, abs=1 / FPS)
    assert facts.frames == 20


def test_the_track_takes_its_parameters_from_the_first_segment_exported(
    segments: list[SegmentFile], small_scene: Scene, tmp_path: Path
) -> None:
    later = _segments(_timed(read_file_packets(small_scene.path), T + 6.0, generation=1), tmp_path, 10.0)

    facts = export_range([*segments, *later], T + 6.5, T + 7.5, tmp_path / "out.mp4")

    assert (facts.segments, facts.frames) == (1, 15)
    assert facts.start_wallclock == pytest.approx(T + 6.0)
    with av.open(str(facts.path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height, stream.codec_context.codec_tag) == (320, 180, "avc1")
        assert {(frame.width, frame.height) for frame in container.decode(stream)} == {(320, 180)}
