"""PTZ moves show in the video: PyAV reads the simulated RTSP stream and sees the new view."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest
from onvif import ONVIFCamera

import adapters.sim.ptz_video as ptz_video_module
from adapters.sim.camera import CameraSimulator
from adapters.sim.faults import CameraFaults
from adapters.sim.media import Media, load_media
from adapters.sim.onvif.ptz_state import PtzState
from adapters.sim.ptz_video import PtzVideo
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.rtsp.streams import SimStream
from adapters.sim.substream import transcode_media
from tests.sim.rtsp_client import read_with_ffmpeg

Image = npt.NDArray[np.uint8]
WIDTH, HEIGHT, FPS, GOP = 320, 180, 10, 5  # a keyframe every 0.5 s: views switch quickly


def gradient_scene() -> Image:
    """Blue grows left to right, green top to bottom: any crop is unambiguous."""
    image = np.full((HEIGHT, WIDTH, 3), 60, dtype=np.uint8)
    image[:, :, 0] = np.linspace(0, 255, WIDTH, dtype=np.uint8)[np.newaxis, :]
    image[:, :, 1] = np.linspace(0, 255, HEIGHT, dtype=np.uint8)[:, np.newaxis]
    return image


def view(image: Image, x: int, y: int, w: int, h: int) -> Image:
    """What the camera should show for crop window (x, y, w, h)."""
    return np.asarray(cv2.resize(image[y : y + h, x : x + w], (WIDTH, HEIGHT)), dtype=np.uint8)


SCENE = gradient_scene()
RIGHT_HALF = view(SCENE, 160, 45, 160, 90)  # pan 1, tilt 0, zoom 1
LEFT_TOP = view(SCENE, 0, 0, 160, 90)  # pan -1, tilt 1, zoom 1


def mad(a: Image, b: Image) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ptz") / "gradient.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.options = {"preset": "ultrafast", "x264-params": f"keyint={GOP}:min-keyint={GOP}:bframes=0"}
        for index in range(3 * FPS):
            frame = av.VideoFrame.from_ndarray(SCENE, format="bgr24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def media(clip: Path) -> Media:
    return load_media(clip)


@dataclass
class Rig:
    server: RtspServer
    main: SimStream
    sub: SimStream
    ptz: PtzState
    video: PtzVideo
    faults: CameraFaults


@pytest.fixture
async def rig(media: Media) -> AsyncIterator[Rig]:
    faults = CameraFaults()
    server = RtspServer()
    main = server.add_stream("cam/main", media, faults=faults)
    sub = server.add_stream("cam/sub", transcode_media(media, WIDTH // 2, HEIGHT // 2), faults=faults)
    await server.start()
    ptz = PtzState()
    video = PtzVideo(ptz, [main, sub], settle_s=0.1, poll_s=0.05, name="cam")
    video.start()
    yield Rig(server, main, sub, ptz, video, faults)
    await video.stop()
    await server.stop()


async def until(predicate: Callable[[], bool], timeout_s: float = 8.0) -> float:
    """Wait for ``predicate``; the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        assert loop.time() - start < timeout_s, "timed out"
        await asyncio.sleep(0.02)
    return loop.time() - start


async def on_the_wire(url: str) -> Image:
    """The last of three pictures a fresh PyAV client decodes."""
    received = await asyncio.to_thread(read_with_ffmpeg, url, 3)
    assert received.error is None and received.frames
    return np.asarray(received.frames[-1].to_ndarray(format="bgr24"), dtype=np.uint8)


async def snapshot(stream: SimStream) -> Image:
    jpeg = await stream.snapshot_jpeg()
    return np.asarray(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), dtype=np.uint8)


def switched(rig: Rig) -> bool:
    """Both streams play the view of the latest position."""
    return rig.video.shown_version == rig.ptz.version and all(
        s.media is rig.video.views[i].cached(rig.ptz.crop_window(s.source.width, s.source.height))
        for i, s in enumerate((rig.main, rig.sub))
    )


async def test_absolute_move_shows_the_right_half_zoomed_then_home(rig: Rig) -> None:
    assert mad(await on_the_wire(rig.server.url("cam/main")), SCENE) < 6

    rig.ptz.absolute_move(1.0, 0.0, 1.0)
    await until(lambda: switched(rig))

    moved = await on_the_wire(rig.server.url("cam/main"))
    assert mad(moved, RIGHT_HALF) < 6 and mad(moved, SCENE) > 25
    assert mad(await snapshot(rig.main), RIGHT_HALF) < 6
    assert (rig.sub.media.width, rig.sub.media.height) == (WIDTH // 2, HEIGHT // 2)
    small = cv2.resize(await snapshot(rig.sub), (WIDTH, HEIGHT))
    assert mad(np.asarray(small, dtype=np.uint8), RIGHT_HALF) < 8
    assert rig.video.encodes == 2  # main and sub, once each

    rig.ptz.absolute_move(0.0, 0.0, 0.0)
    await until(lambda: rig.main.media is rig.main.source and rig.sub.media is rig.sub.source)
    assert mad(await on_the_wire(rig.server.url("cam/main")), SCENE) < 6
    assert rig.video.encodes == 2  # home is the source itself

    rig.ptz.absolute_move(1.0, 0.0, 1.0)  # back to a recent view: from the cache
    await until(lambda: switched(rig))
    assert rig.video.encodes == 2
    assert mad(await snapshot(rig.main), RIGHT_HALF) < 6


async def test_a_second_move_while_encoding_wins(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[tuple[int, int, int, int] | None] = []

    def gated(source: Media, width: int, height: int, **options: Any) -> Media:
        calls.append(options.get("crop"))
        started.set()
        release.wait(10)
        return transcode_media(source, width, height, **options)

    monkeypatch.setattr(ptz_video_module, "transcode_media", gated)
    seen: set[int] = set()

    async def watch() -> None:
        while True:
            seen.add(id(rig.main.media))
            await asyncio.sleep(0.005)

    watcher = asyncio.get_running_loop().create_task(watch(), name="test-watch-media")
    rig.ptz.absolute_move(1.0, 0.0, 1.0)
    assert await asyncio.to_thread(started.wait, 5)
    rig.ptz.absolute_move(-1.0, 1.0, 1.0)  # while the first main view is being encoded
    release.set()
    await until(lambda: switched(rig))
    watcher.cancel()
    await asyncio.wait([watcher])
    seen.add(id(rig.main.media))

    assert calls == [(160, 45, 160, 90), (0, 0, 160, 90), (0, 0, 80, 45)]  # never the first sub view
    assert seen == {id(rig.main.source), id(rig.main.media)}  # the first view never played
    assert mad(await on_the_wire(rig.server.url("cam/main")), LEFT_TOP) < 6


async def test_nothing_is_encoded_until_the_head_stops(rig: Rig) -> None:
    rig.ptz.absolute_move(-1.0, 0.0, 1.0)
    await until(lambda: switched(rig))
    rig.ptz.continuous_move(1.0, 0.0, 0.0, timeout_s=None)
    await asyncio.sleep(0.5)
    assert rig.video.encodes == 2
    rig.ptz.stop()
    await until(lambda: switched(rig))
    assert rig.video.encodes == 4
    x, y, w, h = rig.ptz.crop_window(WIDTH, HEIGHT)
    assert 0 < x < 160 and (y, w, h) == (45, 160, 90)
    assert mad(await snapshot(rig.main), view(SCENE, x, y, w, h)) < 6


async def test_a_fault_version_wins_over_the_ptz_view(rig: Rig) -> None:
    rig.ptz.absolute_move(1.0, 0.0, 1.0)
    await until(lambda: switched(rig))
    ptz_view = rig.main.media

    rig.faults.add("tamper:30")
    await until(lambda: rig.main.media is not ptz_view)
    assert float(np.mean(await snapshot(rig.main))) < 5  # black, not the view

    rig.faults.clear()
    await until(lambda: rig.main.media is ptz_view)
    assert mad(await on_the_wire(rig.server.url("cam/main")), RIGHT_HALF) < 6


async def test_long_sources_ignore_ptz(media: Media) -> None:
    server = RtspServer()
    stream = server.add_stream("cam/main", media)
    video = PtzVideo(PtzState(), [stream], max_megapixels=0.5)
    assert video.views == []


async def test_camera_simulator_moves_through_onvif(clip: Path, tmp_path: Path) -> None:
    sim = CameraSimulator(cameras=1, work_dir=tmp_path, sources=[clip])
    await sim.start()
    try:
        [camera] = sim.cameras
        assert camera.ptz_video is not None
        client = ONVIFCamera("127.0.0.1", camera.device.port, camera.username, camera.password)
        try:
            await client.update_xaddrs()
            ptz = await client.create_ptz_service()
            position = {"PanTilt": {"x": 1.0, "y": 0.0}, "Zoom": {"x": 1.0}}
            await ptz.AbsoluteMove({"ProfileToken": "main", "Position": position})
        finally:
            await client.close()
        video = camera.ptz_video
        await until(lambda: video.shown_version == camera.device.ptz.version)
        assert sim.rtsp is not None
        main = sim.rtsp.stream("cam1/main")
        await until(lambda: main.media is not main.source)
        url = camera.rtsp_main.replace("rtsp://", f"rtsp://{camera.username}:{camera.password}@")
        assert mad(await on_the_wire(url), RIGHT_HALF) < 6
        assert mad(await snapshot(main), RIGHT_HALF) < 6
    finally:
        await sim.stop()
