"""write_mp4: real x264 packets (read through PyAVStreamSource) remuxed and read back with PyAV."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import av
import av.logging
import pytest

from adapters.sim.substream import make_substream
from adapters.source import EncodedPacket, StreamInfo
from hub.recording.remux import ClipFacts, write_mp4
from tests.fixtures.media import Scene, read_file_packets

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
def small_packets(small_scene: Scene) -> list[EncodedPacket]:
    """2 s of 320x180: a camera that switched to a lower resolution (a new SPS)."""
    return read_file_packets(small_scene.path)


@dataclass(frozen=True, slots=True)
class HevcPackets:
    large: list[EncodedPacket]  # 640x360, 6 s
    small: list[EncodedPacket]  # 320x180, 2 s


@pytest.fixture(scope="module")
def hevc_packets(
    single_slice_scene: Scene, small_scene: Scene, tmp_path_factory: pytest.TempPathFactory
) -> HevcPackets:
    """The H.264 scenes re-encoded to H.265 (same GOP, no B-frames)."""
    directory = tmp_path_factory.mktemp("hevc")
    large = make_substream(single_slice_scene.path, directory / "large.mp4", 640, 360, codec="hevc")
    small = make_substream(small_scene.path, directory / "small.mp4", 320, 180, codec="hevc")
    return HevcPackets(read_file_packets(large), read_file_packets(small))


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


def restamped(
    packets: list[EncodedPacket], *, after: EncodedPacket, generation: int, stale: StreamInfo | None = None
) -> list[EncodedPacket]:
    """``packets`` continuing ``after``'s timeline, as a new stream generation.

    ``stale`` is the StreamInfo the source hands out when it has not decoded the new SPS yet
    (the old size with the new generation number).
    """
    step = packets[1].dts - packets[0].dts
    offset = after.dts + step - packets[0].dts
    stream = dataclasses.replace(stale or packets[0].stream, generation=generation)
    return [dataclasses.replace(p, pts=p.pts + offset, dts=p.dts + offset, stream=stream) for p in packets]


@dataclass(frozen=True, slots=True)
class Decoded:
    sizes: list[tuple[int, int]]  # of each decoded picture, in order
    errors: list[str]  # what FFmpeg logged at error level or worse
    tag: str


def decode_all(path: Path) -> Decoded:
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture(local=False) as logs, av.open(str(path)) as container:
            stream = container.streams.video[0]
            tag = stream.codec_context.codec_tag
            sizes = [(frame.width, frame.height) for frame in container.decode(stream)]
    finally:
        av.logging.set_level(previous)
    return Decoded(sizes, [f"{name}: {text}" for level, name, text in logs if level <= av.logging.ERROR], tag)


def test_a_resolution_change_plays_on_in_one_file(
    single_slice_packets: list[EncodedPacket], small_packets: list[EncodedPacket], tmp_path: Path
) -> None:
    head = single_slice_packets[:40]
    tail = restamped(small_packets, after=head[-1], generation=1, stale=head[0].stream)

    facts = write_mp4(head + tail, tmp_path / "resized.mp4")

    decoded = decode_all(facts.path)
    assert decoded.errors == []
    assert decoded.sizes == [(640, 360)] * 40 + [(320, 180)] * 20
    assert decoded.tag == "avc3"  # parameter sets in the stream: the new SPS is allowed there
    assert facts.sizes == ((640, 360), (320, 180))  # measured from the SPS, not the stale info
    assert (facts.width, facts.height, facts.frames) == (640, 360, 60)
    assert facts.duration_s == pytest.approx(6.0)
    assert facts.sha256 == hashlib.sha256(facts.path.read_bytes()).hexdigest()


def test_a_clip_of_one_generation_keeps_avc1(clip: ClipFacts) -> None:
    assert (decode_all(clip.path).tag, clip.sizes) == ("avc1", ((640, 360),))


def test_h265_plays_on_across_a_resolution_change(hevc_packets: HevcPackets, tmp_path: Path) -> None:
    head = hevc_packets.large[:40]
    tail = restamped(hevc_packets.small, after=head[-1], generation=1, stale=head[0].stream)

    facts = write_mp4(head + tail, tmp_path / "resized.mp4")

    decoded = decode_all(facts.path)
    assert decoded.errors == []
    assert decoded.sizes == [(640, 360)] * 40 + [(320, 180)] * 20
    assert (decoded.tag, facts.codec, facts.sizes) == ("hev1", "hevc", ((640, 360), (320, 180)))
    assert facts.frames == 60
    assert facts.duration_s == pytest.approx(6.0)


def test_packets_of_a_new_generation_wait_for_its_keyframe(
    single_slice_packets: list[EncodedPacket], small_packets: list[EncodedPacket], tmp_path: Path
) -> None:
    head = single_slice_packets[:30]
    # The change announced mid-GOP: frames 30..39 of the new generation reference nothing decodable.
    orphans = restamped(single_slice_packets[30:40], after=head[-1], generation=1)
    tail = restamped(small_packets, after=orphans[-1], generation=1)

    facts = write_mp4(head + orphans + tail, tmp_path / "gen.mp4")

    decoded = decode_all(facts.path)
    assert (facts.frames, decoded.errors) == (50, [])
    assert decoded.sizes == [(640, 360)] * 30 + [(320, 180)] * 20


def test_another_codec_ends_the_clip(
    single_slice_packets: list[EncodedPacket], hevc_packets: HevcPackets, tmp_path: Path
) -> None:
    head = single_slice_packets[:40]
    tail = restamped(hevc_packets.small, after=head[-1], generation=1)

    facts = write_mp4(head + tail, tmp_path / "codec.mp4")

    assert (facts.codec, facts.frames, decode_all(facts.path).sizes) == ("h264", 40, [(640, 360)] * 40)


def timed(packets: list[EncodedPacket], start: float = 1_700_000_000.0) -> list[EncodedPacket]:
    """As received live: the wall clock follows the presentation time."""
    origin = packets[0].pts_seconds
    return [dataclasses.replace(p, wallclock=start + p.pts_seconds - origin) for p in packets]


def test_a_short_clock_jump_the_arrival_times_do_not_show_is_smoothed(
    single_slice_packets: list[EncodedPacket], tmp_path: Path
) -> None:
    live = timed(single_slice_packets)
    two_s = int(2 / live[0].stream.time_base)
    # The camera's clock steps 2 s ahead at frame 30 (an NTP resync); the packets keep arriving at 10 fps.
    jumped = [shifted(p, two_s) if i >= 30 else p for i, p in enumerate(live)]

    facts = write_mp4(jumped, tmp_path / "jump.mp4")

    assert facts.duration_s == pytest.approx(6.0)
    assert len({b - a for a, b in itertools.pairwise(read_back(facts.path).dts)}) == 1


def test_a_real_gap_is_kept(single_slice_packets: list[EncodedPacket], tmp_path: Path) -> None:
    live = timed(single_slice_packets)
    two_s = int(2 / live[0].stream.time_base)
    # Frames 30.. come 2 s late in both clocks: the camera really sent nothing for 2 s.
    gap = [
        dataclasses.replace(shifted(p, two_s), wallclock=p.wallclock + 2.0) if i >= 30 else p
        for i, p in enumerate(live)
    ]

    facts = write_mp4(gap, tmp_path / "gap.mp4")

    assert facts.duration_s == pytest.approx(8.0)


def test_no_packets_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^no packets to write$"):
        write_mp4([], tmp_path / "empty.mp4")
    assert not (tmp_path / "empty.mp4").exists()


def test_clip_must_start_on_a_keyframe(single_slice_packets: list[EncodedPacket], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^a clip must start on a keyframe$"):
        write_mp4(single_slice_packets[1:20], tmp_path / "bad.mp4")
    assert not (tmp_path / "bad.mp4").exists()
