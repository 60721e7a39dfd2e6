"""Loading media into access units and the shared playback loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.rtsp import nal
from adapters.sim.media import AccessUnit, Media, MediaLoop, build_media, load_media, nal_type
from adapters.sim.synthetic import write_synthetic_scene

SPS = bytes.fromhex("67640016acb405017fcb08000003000800000300a078b175")
PPS = bytes.fromhex("68ef0fcb")
IDR = b"\x65\x88\x84"
P_SLICE = b"\x41\x9a\x02"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    write_synthetic_scene(path, width=320, height=180, seconds=4.0, gop_seconds=1.0)
    return load_media(path)


def test_build_media_puts_parameter_sets_before_every_keyframe() -> None:
    units = [
        AccessUnit((SPS, PPS, IDR), 0, 0.0, True),  # in-band: kept as it is
        AccessUnit((P_SLICE,), 9000, 0.1, False),
        AccessUnit((IDR,), 18000, 0.2, True),  # gets the SPS/PPS of the first keyframe
    ]
    media = build_media("h264", 64, 64, 10.0, units, 27000)
    assert (media.sps, media.pps, media.vps, media.parameter_sets) == (SPS, PPS, b"", (SPS, PPS))
    assert [u.nals for u in media.units] == [(SPS, PPS, IDR), (P_SLICE,), (SPS, PPS, IDR)]
    from_extradata = build_media("h264", 64, 64, 10.0, units[1:], 18000, parameter_sets=[SPS, PPS])
    assert from_extradata.units[1].nals == (SPS, PPS, IDR)


@pytest.mark.parametrize(
    ("codec", "units", "message"),
    [
        ("vp8", [], "clip.mp4: unsupported codec 'vp8', expected 'h264' or 'hevc'"),
        ("h264", [AccessUnit((IDR,), 0, 0.0, True)], "clip.mp4: no SPS/PPS found"),
        ("hevc", [AccessUnit((IDR,), 0, 0.0, True)], "clip.mp4: no VPS/SPS/PPS found"),
    ],
)
def test_build_media_errors(codec: str, units: list[AccessUnit], message: str) -> None:
    with pytest.raises(ValueError) as info:
        build_media(codec, 64, 64, 10.0, units, 9000, name="clip.mp4")
    assert str(info.value) == message


def test_load_media(media: Media) -> None:
    assert (media.codec, media.width, media.height, media.fps) == ("h264", 320, 180, 10.0)
    assert (nal_type(media.sps), nal.nal_type("h264", media.pps)) == (7, 8)
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
    with pytest.raises(
        ValueError, match=r"^mpeg4.mp4: unsupported codec 'mpeg4', expected 'h264' or 'hevc'$"
    ):
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


def test_switch_needs_the_same_timeline(media: Media) -> None:
    loop = MediaLoop(media, rtp_base=0)
    shorter = Media(media.codec, 16, 16, media.fps, media.sps, media.pps, media.units[:10], media.duration)
    with pytest.raises(
        ValueError, match=r"^cannot switch to media of 10 units / 360000 ticks, playing 40 units"
    ):
        loop.switch(shorter)
    other = Media(media.codec, 16, 16, media.fps, media.sps, media.pps, media.units, media.duration)
    loop.switch(other)
    assert loop.unit_at(3).unit is other.units[3]
