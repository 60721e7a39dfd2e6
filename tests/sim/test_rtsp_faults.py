"""Each camera fault against a real FFmpeg client (PyAV) reading the simulated RTSP stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import av
import numpy as np
import pytest

from adapters.sim.faults import CameraFaults, parse_fault, parse_faults
from adapters.sim.media import Media
from adapters.sim.rtsp.server import RtspServer
from tests.sim.rtsp_client import (
    QUICK_CLIP,
    RawClient,
    Received,
    pts_steps,
    read_clients,
    read_with_ffmpeg,
    scene_media,
)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """A keyframe every 0.5 s: clients join, and versions switch, quickly."""
    return scene_media(tmp_path_factory, **QUICK_CLIP)


@pytest.fixture
async def serve(media: Media) -> AsyncIterator[Callable[[CameraFaults], RtspServer]]:
    servers: list[RtspServer] = []

    def make(faults: CameraFaults) -> RtspServer:
        server = RtspServer()
        server.add_stream("cam/main", media, faults=faults)
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


async def started(server: RtspServer) -> RtspServer:
    await server.start()
    return server


def add_after(faults: CameraFaults, packet: int, fault: str) -> Callable[[int], None]:
    """An ``on_packet`` hook that adds ``fault`` (its @AT counted from then) after ``packet`` packets."""

    def hook(count: int) -> None:
        if count == packet:
            faults.add(fault)

    return hook


async def test_offline_camera_refuses_connections_and_drops_sessions(
    serve: Callable[[CameraFaults], RtspServer],
) -> None:
    faults = CameraFaults()
    server = await started(serve(faults))
    faults.add("offline:30")
    await asyncio.sleep(0.3)  # the server stops listening within a tick
    with pytest.raises(ConnectionRefusedError):
        await asyncio.to_thread(read_with_ffmpeg, server.url("cam/main"), 5)
    faults.clear()
    await asyncio.sleep(0.3)
    received = await asyncio.to_thread(
        read_with_ffmpeg, server.url("cam/main"), 100, on_packet=add_after(faults, 5, "offline:30")
    )
    assert 5 <= len(received.packets) < 10  # the open session is dropped at once
    assert received.error is not None or len(received.packets) < 100


async def test_one_offline_camera_of_a_shared_server(media: Media) -> None:
    server = RtspServer()
    server.add_stream("cam1/main", media, faults=CameraFaults(parse_faults("offline:30")))
    server.add_stream("cam2/main", media)
    await server.start()
    try:
        client = await RawClient.connect(server.port)
        assert (await client.request("DESCRIBE", server.url("cam2/main")))[0] == 200
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await client.request("DESCRIBE", server.url("cam1/main"))  # reset, not answered
        client.close()
    finally:
        await server.stop()


async def test_drop_closes_each_connection_after_play(serve: Callable[[CameraFaults], RtspServer]) -> None:
    server = await started(serve(CameraFaults([parse_fault("drop@1.5")])))
    opened = time.monotonic()
    received = await asyncio.to_thread(read_with_ffmpeg, server.url("cam/main"), 100)
    elapsed = time.monotonic() - opened
    assert 1.5 <= elapsed < 2.5
    assert 9 <= len(received.packets) <= 16  # 10 fps for 1.5 s, from the first keyframe (0.5 s GOP)
    assert received.error is not None or len(received.packets) < 100  # end of stream or error


async def test_stall_times_the_client_out(serve: Callable[[CameraFaults], RtspServer]) -> None:
    faults = CameraFaults()
    server = await started(serve(faults))
    hook = add_after(faults, 5, "stall@0:30")
    stalled_at = time.monotonic()
    received = await asyncio.to_thread(
        read_with_ffmpeg, server.url("cam/main"), 100, timeout_s=1.0, on_packet=hook
    )
    assert 5 <= len(received.packets) <= 7
    assert isinstance(received.error, av.error.FFmpegError | OSError), received.error
    assert time.monotonic() - stalled_at < 4.0


async def test_corrupt_payloads_give_decode_errors_but_the_stream_goes_on(
    serve: Callable[[CameraFaults], RtspServer],
) -> None:
    server = await started(serve(CameraFaults(parse_faults("corrupt:0.5"))))
    (received,), errors = await read_clients([server.url("cam/main")], 12)
    assert (received.error, len(received.packets)) == (None, 12)
    assert any(error.startswith("h264: ") for error in errors), errors  # the decoder saw damaged slices


async def test_ts_jump_moves_the_client_pts(serve: Callable[[CameraFaults], RtspServer]) -> None:
    faults = CameraFaults()
    server = await started(serve(faults))
    received = await asyncio.to_thread(
        read_with_ffmpeg, server.url("cam/main"), 8, on_packet=add_after(faults, 3, "ts_jump@0:3600")
    )
    steps = pts_steps(received)
    jumps = [step for step in steps if step != 9000]
    assert len(jumps) == 1 and abs(jumps[0] - 3600 * 90_000) <= 9000, steps


def mean_luma(received: Received, index: int) -> float:
    return float(np.mean(received.frames[index].to_ndarray(format="gray")))


async def test_resize_switches_to_a_new_sps_at_a_keyframe(
    serve: Callable[[CameraFaults], RtspServer],
) -> None:
    faults = CameraFaults()
    server = await started(serve(faults))
    received = await asyncio.to_thread(
        read_with_ffmpeg, server.url("cam/main"), 18, on_packet=add_after(faults, 2, "resize@0:160x96")
    )
    sizes = [(frame.width, frame.height) for frame in received.frames]
    assert sizes[0] == (320, 180)
    switch = sizes.index((160, 96))
    assert set(sizes[switch:]) == {(160, 96)}  # for good, from a keyframe on
    assert received.packets[switch][1] and received.packets[switch][2][:2] == [7, 8]
    assert server.stream("cam/main").width == 160


async def test_tamper_serves_black_while_active(serve: Callable[[CameraFaults], RtspServer]) -> None:
    faults = CameraFaults()
    server = await started(serve(faults))
    received = await asyncio.to_thread(
        read_with_ffmpeg, server.url("cam/main"), 15, on_packet=add_after(faults, 2, "tamper@0:30")
    )
    assert mean_luma(received, 0) > 60
    assert mean_luma(received, len(received.frames) - 1) < 5
    snapshot = await server.stream("cam/main").snapshot_jpeg()
    assert snapshot.startswith(b"\xff\xd8")
