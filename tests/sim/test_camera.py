"""CameraSimulator in-process: ONVIF answers through onvif-zeep-async, RTSP plays in PyAV, discovery."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import av
import av.error
import pytest
from onvif import ONVIFCamera

from adapters.onvif.discovery import probe
from adapters.onvif.wsdiscovery import DEVICE, NVT
from adapters.sim.camera import CameraSimulator
from adapters.sim.faults import parse_faults

FIELDS = {"index", "name", "onvif_url", "rtsp_main", "rtsp_sub", "username", "password", "endpoint"}


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the module's simulators, so the sub streams are encoded once."""
    return tmp_path_factory.mktemp("sim-work")


@pytest.fixture
async def simulator(work_dir: Path) -> AsyncIterator[CameraSimulator]:
    sim = CameraSimulator(cameras=2, work_dir=work_dir, discovery=0, faults="clock_skew:30")
    await sim.start()
    yield sim
    await sim.stop()


def _with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{user}:{password}@{parts.netloc}").geturl()


def _frames(url: str, count: int = 3) -> list[tuple[int, int]]:
    """The sizes of the first ``count`` decoded pictures (blocking)."""
    # No stream analysis: the SDP carries the parameter sets, and probing would cost seconds.
    options = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32"}
    sizes: list[tuple[int, int]] = []
    with av.open(url, options=options, timeout=10.0) as container:
        for frame in container.decode(video=0):
            sizes.append((frame.width, frame.height))
            if len(sizes) == count:
                break
    return sizes


async def test_each_onvif_url_answers_through_onvif_zeep_async(simulator: CameraSimulator) -> None:
    for camera in simulator.cameras:
        parts = urlsplit(camera.onvif_url)
        assert parts.hostname is not None and parts.port is not None
        client = ONVIFCamera(parts.hostname, parts.port, camera.username, camera.password, adjust_time=True)
        try:
            await client.update_xaddrs()
            devicemgmt = await client.create_devicemgmt_service()
            info = await devicemgmt.GetDeviceInformation()
            media = await client.create_media_service()
            profiles = await media.GetProfiles()
            uris = [
                (
                    await media.GetStreamUri(
                        {
                            "ProfileToken": profile.token,
                            "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                        }
                    )
                ).Uri
                for profile in profiles
            ]
        finally:
            await client.close()
        assert (info.Manufacturer, info.Model) == ("SharpEyes", "SimCam")
        assert info.SerialNumber == f"SIM{camera.index + 1:04d}"
        assert [profile.token for profile in profiles] == ["main", "sub"]
        assert uris == [camera.rtsp_main, camera.rtsp_sub]


async def test_each_rtsp_stream_plays_in_pyav(simulator: CameraSimulator) -> None:
    urls = [
        _with_credentials(url, camera.username, camera.password)
        for camera in simulator.cameras
        for url in (camera.rtsp_main, camera.rtsp_sub)
    ]

    results = await asyncio.gather(*(asyncio.to_thread(_frames, url) for url in urls))

    for main, sub in zip(results[::2], results[1::2], strict=True):
        assert len(main) == 3 and len(set(main)) == 1
        width, height = main[0]
        assert sub == [(width // 2 - width // 2 % 2, height // 2 - height // 2 % 2)] * 3


async def test_rtsp_needs_the_credentials(simulator: CameraSimulator) -> None:
    with pytest.raises(av.error.HTTPUnauthorizedError):
        await asyncio.to_thread(_frames, simulator.cameras[0].rtsp_main, 1)


async def test_snapshot_is_a_jpeg_of_the_main_stream(simulator: CameraSimulator) -> None:
    picture = await simulator.cameras[0].device.snapshot()

    assert picture.startswith(b"\xff\xd8") and picture.endswith(b"\xff\xd9")


async def test_cameras_are_listed_and_discoverable(simulator: CameraSimulator) -> None:
    lines = [json.loads(line) for line in simulator.as_json_lines()]
    assert simulator.discovery_port is not None

    found = await probe(targets=[("127.0.0.1", simulator.discovery_port)], timeout_s=0.3)

    assert [set(line) for line in lines] == [FIELDS, FIELDS]
    assert [line["name"] for line in lines] == ["cam1", "cam2"]
    assert {(device.endpoint, device.xaddrs) for device in found} == {
        (line["endpoint"], (line["onvif_url"],)) for line in lines
    }
    assert all(device.types == (NVT, DEVICE) for device in found)
    assert all(
        f"onvif://www.onvif.org/name/{line['name']}" in d.scopes for d, line in zip(found, lines, strict=True)
    )


async def test_every_camera_gets_its_own_fault_state(simulator: CameraSimulator) -> None:
    first, second = simulator.cameras

    assert first.faults is not second.faults
    assert first.faults.faults == second.faults.faults == parse_faults("clock_skew:30")
    assert first.device.faults is first.faults
    assert first.faults.clock_skew_s() == 30.0


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as probe_socket:
            probe_socket.bind(("127.0.0.1", 0))
            base = int(probe_socket.getsockname()[1])
        if base >= 65535:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", base))
                b.bind(("127.0.0.1", base + 1))
        except OSError:
            continue
        return base
    raise RuntimeError("no two consecutive free ports")


async def test_onvif_ports_count_up_from_the_base(work_dir: Path) -> None:
    base = _free_port_pair()
    sim = CameraSimulator(cameras=2, work_dir=work_dir, onvif_port_base=base)
    await sim.start()
    try:
        ports = [urlsplit(camera.onvif_url).port for camera in sim.cameras]
    finally:
        await sim.stop()

    assert ports == [base, base + 1]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: CameraSimulator(cameras=2, work_dir=d, faults="drop"), "fault drop needs @SECONDS"),
        (lambda d: CameraSimulator(cameras=0, work_dir=d), "cameras must be at least 1, got 0"),
        (
            lambda d: CameraSimulator(cameras=2, work_dir=d, codec="vp8"),
            "unsupported codec 'vp8', expected one of h264, hevc, h265",
        ),
        (
            lambda d: CameraSimulator(cameras=2, work_dir=d, onvif_port_base=65535),
            "ONVIF ports 65535..65536 are out of range",
        ),
    ],
)
def test_bad_arguments_are_refused_before_starting(
    tmp_path: Path, make: Callable[[Path], CameraSimulator], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        make(tmp_path)

    assert str(caught.value) == message
