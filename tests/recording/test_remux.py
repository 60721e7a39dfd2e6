"""write_mp4: real x264 packets (read through PyAVStreamSource) remuxed and read back with PyAV."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from adapters.source import EncodedPacket
from hub.recording.remux import ClipFacts, write_mp4
from tests.fixtures.media import Scene

HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class ReadBack:
    codec: str
    width: int
    height: int
    dts: list[int]
    keyframes: list[int]
    decoded: int
    duration_s: float


def read_back(path: Path) -> ReadBack:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        dts = [int(p.dts) for p in packets if p.dts is not None]
        keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
        assert stream.duration is not None and stream.time_base is not None
        duration_s = float(stream.duration * stream.time_base)
        ctx = stream.codec_context
        codec, width, height = ctx.name, ctx.width, ctx.height
    with av.open(str(path)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    return ReadBack(codec, width, height, dts, keyframes, decoded, duration_s)


def shifted(packet: EncodedPacket, ticks: int) -> EncodedPacket:
    return dataclasses.replace(packet, pts=packet.pts + ticks, dts=packet.dts + ticks)


@pytest.fixture(scope="module")
def clip(single_slice_packets: list[EncodedPacket], tmp_path_factory: pytest.TempPathFactory) -> ClipFacts:
    return write_mp4(single_slice_packets, tmp_path_factory.mktemp("remux") / "a" / "clip.mp4")


def test_facts_describe_the_clip(clip: ClipFacts, single_slice_packets: list[EncodedPacket]) -> None:
    assert (clip.codec, clip.width, clip.height) == ("h264", 640, 360)
    assert clip.frames == len(single_slice_packets) == 60
    assert clip.duration_s == pytest.approx(6.0)
    assert clip.bytes == clip.path.stat().st_size
    assert clip.sha256 == hashlib.sha256(clip.path.read_bytes()).hexdigest()
    assert clip.start_wallclock == single_slice_packets[0].wallclock
    assert clip.end_wallclock == single_slice_packets[-1].wallclock
    assert not clip.path.with_name("clip.mp4.part").exists()


def test_pyav_reads_back_what_the_facts_say(clip: ClipFacts, single_slice_scene: Scene) -> None:
    back = read_back(clip.path)
    assert (back.codec, back.width, back.height) == (clip.codec, clip.width, clip.height)
    assert len(back.dts) == clip.frames
    assert back.decoded == clip.frames == single_slice_scene.truth.frames
    assert back.duration_s == pytest.approx(clip.duration_s, abs=1 / single_slice_scene.truth.fps)
    assert back.keyframes == [0, 20, 40]
    assert back.dts[0] == 0


def test_faststart_puts_moov_before_mdat(clip: ClipFacts) -> None:
    data = clip.path.read_bytes()
    assert data[4:8] == b"ftyp"
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_clock_jump_and_backward_step_give_a_monotonic_file(
    single_slice_packets: list[EncodedPacket], tmp_path: Path
) -> None:
    packets = single_slice_packets
    hour = int(HOUR_S / packets[0].stream.time_base)
    step = packets[1].pts - packets[0].pts
    # +1 h at frame 20, then back below the previous frame (a camera clock resync) at frame 40.
    jumped = [shifted(p, hour) if 20 <= i < 40 else p for i, p in enumerate(packets)]
    jumped = [shifted(p, -10 * step) if i >= 40 else p for i, p in enumerate(jumped)]
    assert jumped[40].dts < jumped[39].dts
    facts = write_mp4(jumped, tmp_path / "jump.mp4")
    back = read_back(facts.path)
    assert facts.frames == back.decoded == len(back.dts) == 60
    assert all(b > a for a, b in itertools.pairwise(back.dts))
    assert {b - a for a, b in itertools.pairwise(back.dts)} == {step}
    assert facts.duration_s == pytest.approx(6.0)


def test_a_clip_may_start_on_a_later_keyframe(
    single_slice_packets: list[EncodedPacket], tmp_path: Path
) -> None:
    facts = write_mp4(single_slice_packets[20:45], tmp_path / "mid.mp4")
    back = read_back(facts.path)
    assert (facts.frames, back.decoded, back.dts[0]) == (25, 25, 0)
    assert facts.duration_s == pytest.approx(2.5)


def test_packets_of_another_generation_are_left_out(
    single_slice_packets: list[EncodedPacket], tmp_path: Path
) -> None:
    newer = dataclasses.replace(single_slice_packets[0].stream, generation=1)
    packets = single_slice_packets[:30] + [
        dataclasses.replace(p, stream=newer) for p in single_slice_packets[30:]
    ]
    facts = write_mp4(packets, tmp_path / "gen.mp4")
    assert (facts.frames, read_back(facts.path).decoded) == (30, 30)


def test_no_packets_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^no packets to write$"):
        write_mp4([], tmp_path / "empty.mp4")
    assert not (tmp_path / "empty.mp4").exists()


def test_clip_must_start_on_a_keyframe(single_slice_packets: list[EncodedPacket], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^a clip must start on a keyframe$"):
        write_mp4(single_slice_packets[1:20], tmp_path / "bad.mp4")
    assert not (tmp_path / "bad.mp4").exists()
