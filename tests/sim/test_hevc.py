"""H.265: loading hvcC files, RFC 7798 packetization, the SDP, and FFmpeg reading it over RTSP."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from adapters.rtsp import nal
from adapters.sim.media import Media, load_media
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.substream import encoder_available
from tests.sim.rtsp_client import QUICK_CLIP, RawClient, hevc_clip, read_clients

IRAP = range(16, 24)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hevc_clip(tmp_path_factory, **QUICK_CLIP)


@pytest.fixture(scope="module")
def media(clip: Path) -> Media:
    return load_media(clip)


def test_libx265_is_in_this_build() -> None:
    assert encoder_available("hevc")  # the bundled FFmpeg 8.1: the H.265 tests below do run


def test_load_hevc_media(media: Media) -> None:
    assert (media.codec, media.width, media.height, media.fps, len(media.units)) == (
        "hevc",
        320,
        180,
        10.0,
        40,
    )
    types = [nal.nal_type("hevc", n) for n in media.parameter_sets]
    assert types == [nal.HEVC_VPS, nal.HEVC_SPS, nal.HEVC_PPS]
    keyframes = [i for i, u in enumerate(media.units) if u.is_keyframe]
    assert keyframes == list(range(0, 40, 5))  # the source's GOP
    for index in keyframes:
        unit = media.units[index]
        assert unit.nals[:3] == media.parameter_sets  # from hvcC, repeated before each IRAP
        assert nal.nal_type("hevc", unit.nals[-1]) in IRAP
    assert media.duration == 4 * 90_000
    assert max(len(n) for n in media.units[0].nals) > 1400  # so the stream tests exercise FUs


async def test_describe_gives_h265_sdp(media: Media) -> None:
    server = RtspServer()
    server.add_stream("cam", media)
    await server.start()
    try:
        client = await RawClient.connect(server.port)
        status, _, body = await client.request("DESCRIBE", server.url("cam"))
        client.close()
    finally:
        await server.stop()
    sdp = body.decode()
    assert status == 200
    assert "a=rtpmap:96 H265/90000\r\n" in sdp
    vps, sps, pps = (base64.b64encode(n).decode() for n in media.parameter_sets)
    assert f"a=fmtp:96 sprop-vps={vps};sprop-sps={sps};sprop-pps={pps}\r\n" in sdp


async def test_ffmpeg_reads_h265_over_rtsp(media: Media) -> None:
    server = RtspServer()
    server.add_stream("cam", media)
    await server.start()
    try:
        (tcp, udp), errors = await read_clients([server.url("cam")] * 2, 15, transports=["tcp", "udp"])
    finally:
        await server.stop()
    assert errors == []
    for received in (tcp, udp):
        assert (received.error, received.width, received.height) == (None, 320, 180)
        assert len(received.frames) == len(received.packets) == 15
        assert received.packets[0][1]  # starts on a keyframe
        assert all(frame.width == 320 for frame in received.frames)
