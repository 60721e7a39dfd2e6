"""The ts_wrap fault: the RTP clock passes 2^32 at a chosen time, with no jump, and FFmpeg unwraps it."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from adapters.sim.faults import CameraFaults, Fault, FaultKind, parse_fault
from adapters.sim.media import Media
from adapters.sim.rtsp.rtp import parse_rtp_header
from adapters.sim.rtsp.server import RtspServer
from tests.sim.rtsp_client import QUICK_CLIP, RawClient, pts_steps, read_with_ffmpeg, scene_media

FRAME_TICKS = 9000  # 10 fps on the 90 kHz clock


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return scene_media(tmp_path_factory, **QUICK_CLIP)


def test_parse_ts_wrap() -> None:
    assert parse_fault("ts_wrap@1.5") == Fault(FaultKind.TS_WRAP, 1.5)
    with pytest.raises(ValueError, match=r"^fault ts_wrap needs @SECONDS$"):
        parse_fault("ts_wrap")
    with pytest.raises(ValueError, match=r"^fault ts_wrap takes no value$"):
        parse_fault("ts_wrap@2:1")


def test_the_latest_wrap_sets_the_clock() -> None:
    faults = CameraFaults([parse_fault("ts_wrap@9"), parse_fault("ts_wrap@3")])
    assert faults.timestamp_wrap() == Fault(FaultKind.TS_WRAP, 3.0)
    assert CameraFaults().timestamp_wrap() is None


async def _rtp_timestamps(server: RtspServer, count: int) -> list[int]:
    client = await RawClient.connect(server.port)
    try:
        await client.play(server.url("cam"))
        stamps: list[int] = []
        while len(stamps) < count:
            channel, data = await client.read_frame()
            if channel == 0:  # RTP (1 is RTCP)
                header = parse_rtp_header(data)
                if header.marker:  # one timestamp per picture: its last packet
                    stamps.append(header.timestamp)
        return stamps
    finally:
        client.close()


async def test_rtp_timestamps_wrap_once_and_step_evenly(media: Media) -> None:
    server = RtspServer()
    server.add_stream("cam", media, faults=CameraFaults([parse_fault("ts_wrap@0.8")]))
    await server.start()
    try:
        stamps = await asyncio.wait_for(_rtp_timestamps(server, 12), timeout=10)  # 1.2 s
    finally:
        await server.stop()
    wrapped = [i for i, (a, b) in enumerate(itertools.pairwise(stamps)) if b < a]
    assert len(wrapped) == 1, stamps
    assert stamps[0] > 2**32 - 2 * 90_000  # within 2 s of the wrap: the clock was set for it
    assert {(b - a) % 2**32 for a, b in itertools.pairwise(stamps)} == {FRAME_TICKS}


async def test_ffmpeg_sees_a_continuous_clock_across_the_wrap(media: Media) -> None:
    server = RtspServer()
    server.add_stream("cam", media, faults=CameraFaults([parse_fault("ts_wrap@0.8")]))
    await server.start()
    try:
        received = await asyncio.to_thread(read_with_ffmpeg, server.url("cam"), 12)
    finally:
        await server.stop()
    assert received.error is None
    assert set(pts_steps(received)) == {FRAME_TICKS}
