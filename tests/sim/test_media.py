"""Loading media into access units and the shared playback loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sim.media import (
    Media,
    MediaLoop,
    load_media,
    nal_type,
    parse_avcc_extradata,
    split_annexb,
    split_avcc,
)
from adapters.sim.synthetic import write_synthetic_scene

SPS = bytes.fromhex("67640016acb405017fcb08000003000800000300a078b175")
PPS = bytes.fromhex("68ef0fcb")
AVCC = bytes([1, 0x64, 0x00, 0x16, 0xFF, 0xE1, 0, len(SPS)]) + SPS + bytes([1, 0, len(PPS)]) + PPS


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    write_synthetic_scene(path, width=320, height=180, seconds=4.0, gop_seconds=1.0)
    return load_media(path)


def test_parse_avcc_extradata() -> None:
    assert parse_avcc_extradata(AVCC) == (4, [SPS], [PPS])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (AVCC[:6], "avcC too short: 6 bytes"),
        (b"\x02" + AVCC[1:], "unsupported avcC version: 2"),
        (AVCC[:-1], "avcC parameter set of 4 bytes overruns the record at offset 35"),
        (AVCC[:32], "avcC truncated at offset 32"),
    ],
)
def test_parse_avcc_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_avcc_extradata(data)
    assert str(info.value) == message


def test_split_avcc_and_annexb() -> None:
    assert split_avcc(b"\x00\x00\x00\x02\x65\xaa\x00\x00\x00\x01\x41") == [b"\x65\xaa", b"\x41"]
    assert split_avcc(b"\x00\x02\x65\xaa", length_size=2) == [b"\x65\xaa"]
    with pytest.raises(ValueError, match=r"^bad NAL length 9 at offset 0 of 6 bytes$"):
        split_avcc(b"\x00\x00\x00\x09\x65\xaa")
    with pytest.raises(ValueError, match=r"^truncated NAL length at offset 0 of 2 bytes$"):
        split_avcc(b"\x00\x00")
    assert split_annexb(b"\x00\x00\x00\x01\x67\x01\x00\x00\x01\x68\x02") == [b"\x67\x01", b"\x68\x02"]


def test_load_media(media: Media) -> None:
    assert (media.codec, media.width, media.height, media.fps) == ("h264", 320, 180, 10.0)
    assert (nal_type(media.sps), nal_type(media.pps)) == (7, 8)
    assert len(media.units) == 40
    assert media.duration == 4 * 90_000
    assert [u.rtp_offset for u in media.units[:3]] == [0, 9000, 18000]
    assert media.units[10].send_offset == pytest.approx(1.0)
    keyframes = [u for u in media.units if u.is_keyframe]
    assert len(keyframes) == 4
    assert all(u.nals[:2] == (media.sps, media.pps) for u in keyframes)  # repeated before each IDR


def test_load_media_rejects_non_h264(tmp_path: Path) -> None:
    import av

    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 64
        for _ in range(2):
            container.mux(stream.encode(av.VideoFrame(64, 64, "yuv420p")))
        container.mux(stream.encode(None))
    with pytest.raises(ValueError, match=r"^mpeg4.mp4: unsupported codec 'mpeg4', expected 'h264'$"):
        load_media(path)


def test_loop_timestamps_continue_across_loops(media: Media) -> None:
    loop = MediaLoop(media, rtp_base=2**32 - 100_000, clock=lambda: 1000.0)
    last_of_first = loop.unit_at(39)
    first_of_second = loop.unit_at(40)
    assert first_of_second.unit is media.units[0]
    assert (last_of_first.rtp_timestamp + 9000) % 2**32 == first_of_second.rtp_timestamp
    assert first_of_second.rtp_timestamp == (2**32 - 100_000 + 360_000) % 2**32  # wrapped
    assert first_of_second.due == pytest.approx(1004.0)
    assert loop.rtp_timestamp_at(1004.0) == first_of_second.rtp_timestamp


def test_next_keyframe_index(media: Media) -> None:
    loop = MediaLoop(media, rtp_base=0)
    assert loop.next_keyframe_index() == 0
    loop.next_index = 1
    assert loop.next_keyframe_index() == 10
    assert loop.next_keyframe_index(31) == 40


async def test_play_paces_and_resyncs_after_a_stall(media: Media) -> None:
    now = [0.0]
    loop = MediaLoop(media, rtp_base=0, clock=lambda: now[0], max_lag=1.0)
    units = loop.play()
    first = await anext(units)
    assert (first.index, first.due) == (0, 0.0)
    now[0] = 5.0  # the sender stalled for 5 s: no burst of 50 late units
    second = await anext(units)
    assert (second.index, second.rtp_timestamp, second.due) == (1, 9000, 5.0)
    assert loop.unit_at(2).due == pytest.approx(5.1)
