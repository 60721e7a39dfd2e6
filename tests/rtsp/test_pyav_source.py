"""PyAVStreamSource end to end: the simulator's RTSP server, FFmpeg's demuxer, our reader thread."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from dataclasses import dataclass

import av
import pytest

from adapters.rtsp.pyav_source import RECORD_HANDOVER_S, STALL_GRACE_S, PyAVStreamSource
from adapters.sim.faults import CameraFaults
from adapters.sim.media import Media, load_media
from adapters.sim.rtsp.server import RtspServer
from adapters.source import DecodedFrame, EncodedPacket, SourceError, SourceStalled, StreamInfo
from tests.fixtures.media import Scene
from tests.sim.rtsp_client import QUICK_CLIP, scene_media

READ_SECONDS = 3.0
ANALYSIS_FPS = 5


@dataclass(frozen=True, slots=True)
class LiveRead:
    info: StreamInfo
    packets: list[EncodedPacket]
    frames: list[DecodedFrame]
    frames_dropped: int


async def _read_live(scene: Scene) -> LiveRead:
    server = RtspServer()
    server.add_stream("cam", load_media(scene.path))
    await server.start()
    try:
        source = PyAVStreamSource(server.url("cam"), analysis_fps=ANALYSIS_FPS, open_timeout_s=10.0)
        packets: list[EncodedPacket] = []
        frames: list[DecodedFrame] = []
        async with source:
            assert source.info is not None
            info = source.info
            started = time.monotonic()
            async for item in source:
                if isinstance(item, EncodedPacket):
                    packets.append(item)
                else:
                    frames.append(item)
                if time.monotonic() - started >= READ_SECONDS:
                    break
        return LiveRead(info, packets, frames, source.frames_dropped)
    finally:
        await server.stop()


@pytest.fixture(scope="module")
def live(multi_slice_scene: Scene) -> LiveRead:
    """~3 s of the 4-slice scene over RTSP/TCP, read once for the whole module."""
    return asyncio.run(_read_live(multi_slice_scene))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_stream_info_from_rtsp(live: LiveRead) -> None:
    assert (live.info.codec, live.info.width, live.info.height) == ("h264", 640, 360)
    assert live.info.average_fps == 10.0
    assert live.info.generation == 0


def test_read_covers_the_wanted_time(live: LiveRead) -> None:
    # FFmpeg buffers while probing, so at least READ_SECONDS of pictures arrive in READ_SECONDS.
    assert len(live.packets) >= READ_SECONDS * 10


def test_first_packet_is_a_keyframe_and_pts_strictly_increase(live: LiveRead) -> None:
    assert live.packets[0].is_keyframe
    pts = [p.pts for p in live.packets]
    assert all(b > a for a, b in itertools.pairwise(pts))
    steps = {b - a for a, b in itertools.pairwise(pts)}
    assert steps == {9000}  # 10 fps on the 90 kHz RTP clock, one packet per picture


def test_every_packet_is_one_whole_picture(live: LiveRead) -> None:
    decoder = av.CodecContext.create("h264", "r")
    decoder.thread_count = 1  # no frame threads: each picture comes out of its own packet
    counts = [len(decoder.decode(av.Packet(p.data))) for p in live.packets]
    assert counts == [1] * len(live.packets)


def test_keyframes_every_gop_with_parameter_sets(live: LiveRead) -> None:
    keyframes = [i for i, p in enumerate(live.packets) if p.is_keyframe]
    assert keyframes == list(range(0, len(live.packets), 20))
    for index in keyframes:
        assert live.packets[index].data.startswith(b"\x00\x00\x00\x01\x67")  # SPS first


def test_frames_sampled_at_analysis_fps(live: LiveRead) -> None:
    frames = live.frames
    assert {f.image.shape for f in frames} == {(360, 640, 3)}
    assert {(f.width, f.height) for f in frames} == {(640, 360)}
    # Every other 10 fps picture, 0.2 s apart; only a stale frame dropped under load widens a gap.
    gaps = [round(b.pts_seconds - a.pts_seconds, 3) for a, b in itertools.pairwise(frames)]
    if live.frames_dropped == 0:
        assert set(gaps) == {0.2}
    assert all(round(gap / 0.2, 6).is_integer() for gap in gaps), gaps
    span = live.packets[-1].pts_seconds - live.packets[0].pts_seconds
    expected = round(span * ANALYSIS_FPS) + 1
    assert abs(len(frames) + live.frames_dropped - expected) <= 1


def test_frame_pts_match_packets(live: LiveRead) -> None:
    packet_times = {p.pts_seconds for p in live.packets}
    assert all(f.pts_seconds in packet_times for f in live.frames)
    assert live.frames[0].pts_seconds == live.packets[0].pts_seconds


async def test_unreachable_camera_raises_source_error_fast() -> None:
    url = f"rtsp://127.0.0.1:{closed_port()}/x"
    source = PyAVStreamSource(url, open_timeout_s=3.0, stall_timeout_s=3.0)
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        await source.open()
    assert time.monotonic() - started < 5.0
    assert str(caught.value) == f"{url}: connection refused"
    await source.close()


async def test_password_never_in_the_error() -> None:
    port = closed_port()
    source = PyAVStreamSource(f"rtsp://user:secret@127.0.0.1:{port}/x", open_timeout_s=3.0)
    with pytest.raises(SourceError) as caught:
        await source.open()
    assert "secret" not in str(caught.value)
    assert str(caught.value) == f"rtsp://user:***@127.0.0.1:{port}/x: connection refused"
    assert source.safe_url == f"rtsp://user:***@127.0.0.1:{port}/x"


async def test_file_source_without_analysis_yields_only_packets(
    single_slice_packets: list[EncodedPacket],
) -> None:
    assert len(single_slice_packets) == 60
    assert [i for i, p in enumerate(single_slice_packets) if p.is_keyframe] == [0, 20, 40]
    assert all(p.data.startswith(b"\x00\x00\x00\x01") for p in single_slice_packets)


async def test_missing_file_is_a_source_error() -> None:
    source = PyAVStreamSource("/nonexistent/clip.mp4", analysis_fps=None)
    with pytest.raises(SourceError, match=r"^/nonexistent/clip\.mp4: No such file or directory$"):
        await source.open()


@pytest.fixture(scope="module")
def quick_media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """A keyframe every 0.5 s: the first packet comes well within a 1 s stall time-out."""
    return scene_media(tmp_path_factory, **QUICK_CLIP)


@dataclass(frozen=True, slots=True)
class StalledRead:
    packets: int
    error: BaseException | None
    seconds_after_stall: float


async def _read_until_stalled(
    media: Media, *, analysis_fps: float | None, stall_timeout_s: float
) -> StalledRead:
    """Read 5 packets, make the camera stop sending (socket open), read on until the source ends."""
    faults = CameraFaults()
    server = RtspServer()
    server.add_stream("cam", media, faults=faults)
    await server.start()
    source = PyAVStreamSource(server.url("cam"), analysis_fps=analysis_fps, stall_timeout_s=stall_timeout_s)
    packets, error, stalled_at = 0, None, 0.0
    try:
        async with source:
            try:
                async for item in source:
                    if isinstance(item, EncodedPacket):
                        packets += 1
                        if packets == 5:
                            faults.add("stall@0:60")
                            stalled_at = time.monotonic()
            except SourceError as err:
                error = err
    finally:
        await server.stop()
    return StalledRead(packets, error, time.monotonic() - stalled_at)


@pytest.mark.parametrize("analysis_fps", [None, 5.0], ids=["record-only", "decoding"])
async def test_stalled_camera_ends_the_stream_with_source_stalled(
    quick_media: Media, analysis_fps: float | None
) -> None:
    read = await _read_until_stalled(quick_media, analysis_fps=analysis_fps, stall_timeout_s=1.0)
    assert isinstance(read.error, SourceStalled), read.error
    assert str(read.error).endswith(": no data (time-out)")
    # What was sent before the stall arrives: up to a hand-over tick of packets after the 5th.
    assert 5 <= read.packets <= 5 + round(RECORD_HANDOVER_S * 10) + 2
    # FFmpeg's socket time-out, not the watchdog's later one, ends a silent stream.
    assert 1.0 - RECORD_HANDOVER_S <= read.seconds_after_stall < 1.0 + STALL_GRACE_S


class _PatientSocket(PyAVStreamSource):
    """FFmpeg's socket time-out far beyond the stall time-out: only the watchdog can see the stall,
    as with a camera that keeps its connection busy (RTCP, keep-alives) but sends no pictures."""

    def ffmpeg_options(self) -> dict[str, str]:
        return super().ffmpeg_options() | {"timeout": str(60_000_000)}


async def test_watchdog_ends_a_stream_that_delivers_no_packets(quick_media: Media) -> None:
    faults = CameraFaults()
    server = RtspServer()
    server.add_stream("cam", quick_media, faults=faults)
    await server.start()
    stall_s = 0.5
    source = _PatientSocket(server.url("cam"), analysis_fps=None, stall_timeout_s=stall_s)
    try:
        await source.open()
        packets = 0
        with pytest.raises(SourceStalled, match=r": no data \(time-out\)$"):
            async for item in source:
                packets += isinstance(item, EncodedPacket)
                if packets == 3:
                    faults.add("stall@0:60")
                    stalled_at = time.monotonic()
        waited = time.monotonic() - stalled_at
        # Counted from the last packet's arrival, which the consumer sees up to a tick later.
        limit = stall_s + STALL_GRACE_S
        assert limit - RECORD_HANDOVER_S <= waited < limit + 2 * RECORD_HANDOVER_S + 0.5
        started = time.monotonic()
        await source.close()  # the reader still waits in FFmpeg: close gives up after the time-out
        assert time.monotonic() - started < stall_s + STALL_GRACE_S + 1.0
    finally:
        await server.stop()  # the connection closes, and with it the reader
    assert source._thread is not None
    await asyncio.to_thread(source._thread.join, 5.0)
    assert not source._thread.is_alive()
