"""OnvifCameraClient against the simulated camera: what it reads, and how each failure is reported."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from adapters.onvif.client import OnvifCameraClient
from adapters.onvif.errors import (
    CameraStatus,
    OnvifClockSkew,
    OnvifMalformedReply,
    OnvifNotSupported,
    OnvifTimeout,
    OnvifUnauthorized,
    OnvifUnreachable,
    status_for,
)
from adapters.onvif.models import Capabilities, DeviceInfo, MediaProfile
from adapters.sim.faults import FaultKind
from tests.onvif.conftest import MAIN, SUB, Sim


def _profile(token: str) -> MediaProfile:
    p = {MAIN.token: MAIN, SUB.token: SUB}[token]
    return MediaProfile(p.token, p.name, p.encoding, p.width, p.height, p.fps, p.bitrate_kbps, p.rtsp_uri)


async def test_read_device_gives_the_sims_identity_profiles_and_uris(
    sim: Sim, client: OnvifCameraClient
) -> None:
    snapshot = await client.read_device()
    assert snapshot.info == DeviceInfo("SharpEyes", "SimCam-PTZ", "2.4.1", "SE-0042", "hw-7")
    assert snapshot.capabilities == Capabilities(media=True, ptz=True, events=True)
    assert snapshot.profiles == (_profile("sub"), _profile("main"))
    assert snapshot.main == _profile("main")  # 1280x720, though listed second
    assert snapshot.sub == _profile("sub")  # 640x360
    assert snapshot.snapshot_uri == f"http://127.0.0.1:{sim.device.port}/onvif/snapshot/main.jpg"
    assert snapshot.ptz is not None
    [node] = snapshot.ptz.nodes
    assert (node.token, node.name, node.max_presets) == ("ptz_node", "PTZ head", 32)
    assert [(s.kind, s.x_range, s.y_range) for s in node.spaces][:2] == [
        ("AbsolutePanTiltPositionSpace", (-1.0, 1.0), (-1.0, 1.0)),
        ("AbsoluteZoomPositionSpace", (0.0, 1.0), None),
    ]
    assert snapshot.ptz.presets == ()
    assert abs(snapshot.clock_offset_s) < 1.5


async def test_profile_tokens_override_main_and_sub(sim: Sim, client: OnvifCameraClient) -> None:
    snapshot = await client.read_device(main_token="sub", sub_token="main")
    assert (snapshot.main.token, snapshot.sub.token) == ("sub", "main")
    with pytest.raises(OnvifNotSupported) as info:
        await client.read_device(main_token="third")
    assert str(info.value) == "gate: no video profile 'third' (the camera has sub, main)"
    assert status_for(info.value) is CameraStatus.DEGRADED


async def test_credentials_in_camera_uris_are_stripped(sim: Sim) -> None:
    sim.device.profiles[1] = replace(
        MAIN, rtsp_uri="rtsp://admin:s3cret@10.0.0.9/gate?user=admin&password=s3cret&ch=1"
    )
    client = sim.client()
    await client.connect()
    try:
        snapshot = await client.read_device()
    finally:
        await client.close()
    assert snapshot.main.stream_uri == "rtsp://10.0.0.9/gate?ch=1"


async def test_wrong_password_is_unauthorized(sim: Sim) -> None:
    client = sim.client(password="wrong")
    try:
        with pytest.raises(OnvifUnauthorized) as info:
            await client.connect()  # clock and services need no credentials; the probe does
    finally:
        await client.close()
    assert (
        str(info.value) == "gate: GetNodes: credentials refused: Sender not authorized: wrong password digest"
    )
    assert status_for(info.value) == "unauthorized"


async def test_stopped_device_is_unreachable(sim: Sim, client: OnvifCameraClient) -> None:
    await sim.device.stop()
    with pytest.raises(OnvifUnreachable) as info:
        await client.read_device()
    assert not isinstance(info.value, OnvifTimeout)
    assert info.value.reason.startswith("GetDeviceInformation: unreachable: ")  # the kept-alive socket died
    assert status_for(info.value) == "offline"
    with pytest.raises(OnvifUnreachable) as info:
        await client.read_device()
    assert info.value.reason.startswith(
        "GetDeviceInformation: unreachable: Cannot connect to host 127.0.0.1:"
    )


async def test_offline_camera_is_unreachable(sim: Sim, client: OnvifCameraClient) -> None:
    sim.faults.add("offline:30")
    with pytest.raises(OnvifUnreachable, match="GetDeviceInformation: unreachable: Server disconnected"):
        await client.read_device()


async def test_slow_soap_beyond_the_timeout(sim: Sim) -> None:
    client = sim.client(timeout_s=0.5)
    await client.connect()
    try:
        sim.faults.add("slow_soap:2")  # the sim's VALUE is the delay and also how long the fault lasts
        started = time.monotonic()
        with pytest.raises(OnvifTimeout) as info:
            await client.read_device()
        assert time.monotonic() - started < 1.5
    finally:
        await client.close()
    assert str(info.value) == "gate: GetDeviceInformation: no reply in time"
    assert status_for(info.value) == "offline"


async def test_malformed_soap_then_recovery(sim: Sim, client: OnvifCameraClient) -> None:
    sim.faults.add("malformed_soap")
    with pytest.raises(OnvifMalformedReply) as info:
        await client.read_device()
    assert info.value.reason == (
        "GetDeviceInformation: unreadable reply: Server returned response (200) with invalid XML:"
        " Invalid XML content received (Document is empty, line 1, column 1)."
    )
    assert status_for(info.value) == "error"
    sim.faults.clear(FaultKind.MALFORMED_SOAP)
    assert (await client.read_device()).info.serial_number == "SE-0042"


async def test_two_hours_of_clock_skew_still_works(sim: Sim) -> None:
    sim.faults.add("clock_skew:7200")
    client = sim.client()
    await client.connect()
    try:
        snapshot = await client.read_device()
    finally:
        await client.close()
    assert snapshot.info.serial_number == "SE-0042"
    assert abs(snapshot.clock_offset_s - 7200) < 1.5


async def test_clock_beyond_the_configured_limit(sim: Sim) -> None:
    sim.faults.add("clock_skew:7200")
    client = sim.client(max_clock_offset_s=3600)
    try:
        with pytest.raises(OnvifClockSkew) as info:
            await client.connect()
    finally:
        await client.close()
    # The camera's clock has whole seconds, so adjust_time measures 7199 s and a fraction.
    assert str(info.value) in (f"gate: the camera clock is +{s} s off (at most 3600 s)" for s in (7199, 7200))
    assert status_for(info.value) == "degraded"


async def test_camera_without_ptz(fixed_sim: Sim) -> None:
    client = fixed_sim.client()
    await client.connect()
    try:
        snapshot = await client.read_device()
    finally:
        await client.close()
    assert snapshot.capabilities == Capabilities(media=True, ptz=False, events=True)
    assert snapshot.ptz is None


async def test_proxy_environment_is_restored(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3129")
    client = sim.client()
    await client.connect()
    await client.close()
    assert (os.environ["http_proxy"], os.environ["https_proxy"]) == (
        "http://proxy.invalid:3128",
        "http://proxy.invalid:3129",
    )


def test_importing_the_adapter_leaves_the_root_logger_alone() -> None:
    code = (
        "import logging; import adapters.onvif.client, adapters.onvif.events, adapters.onvif.ptz; "
        "root = logging.getLogger(); print(len(root.handlers), root.level)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.split() == ["0", str(logging.WARNING)]
