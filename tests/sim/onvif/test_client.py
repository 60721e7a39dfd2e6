"""The simulated ONVIF device driven by a client we did not write: onvif-zeep-async (zeep, aiohttp)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import zeep.exceptions
from onvif import ONVIFCamera
from onvif.util import is_auth_error

from adapters.sim.faults import CameraFaults, FaultKind
from adapters.sim.onvif import DeviceIdentity, OnvifDevice, SimProfile

JPEG = b"\xff\xd8\xff\xe0 sim snapshot \xff\xd9"
MAIN = SimProfile("main", "Main stream", 1280, 720, 10.0, 2000, "rtsp://127.0.0.1:8554/cam1")
SUB = SimProfile("sub", "Sub stream", 640, 360, 5.0, 400, "rtsp://127.0.0.1:8554/cam1_sub")
EVENTS = "http://www.onvif.org/ver10/events/wsdl"


@dataclass
class Sim:
    device: OnvifDevice
    faults: CameraFaults
    motion: bool = False
    reboots: list[float] = field(default_factory=list)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    faults = CameraFaults()

    async def snapshot() -> bytes:
        return JPEG

    async def on_reboot() -> None:
        state.reboots.append(time.monotonic())

    device = OnvifDevice(
        identity=DeviceIdentity(serial_number="SIM0001", hostname="cam1"),
        profiles=[MAIN, SUB],
        username="admin",
        password="s3cret",
        faults=faults,
        snapshot=snapshot,
        on_reboot=on_reboot,
        motion=lambda: state.motion,
    )
    state = Sim(device, faults)
    await device.start()
    yield state
    await device.stop()


@pytest.fixture
async def cam(sim: Sim) -> AsyncIterator[ONVIFCamera]:
    camera = ONVIFCamera("127.0.0.1", sim.device.port, "admin", "s3cret", no_cache=True, adjust_time=True)
    await camera.update_xaddrs()
    yield camera
    await camera.close()


async def test_xaddrs_and_device_information(sim: Sim, cam: ONVIFCamera) -> None:
    base = f"http://127.0.0.1:{sim.device.port}/onvif"
    assert cam.xaddrs == {
        "http://www.onvif.org/ver10/device/wsdl": f"{base}/device_service",
        "http://www.onvif.org/ver10/media/wsdl": f"{base}/media_service",
        EVENTS: f"{base}/events_service",
        "http://www.onvif.org/ver20/ptz/wsdl": f"{base}/ptz_service",
    }
    assert sim.device.xaddrs == list(cam.xaddrs.values())
    devicemgmt = await cam.create_devicemgmt_service()
    info = await devicemgmt.GetDeviceInformation()
    assert (info.Manufacturer, info.Model, info.FirmwareVersion, info.SerialNumber, info.HardwareId) == (
        "SharpEyes",
        "SimCam",
        "1.0",
        "SIM0001",
        "sim-1",
    )
    assert abs(cam.dt_diff.total_seconds()) < 2
    capabilities = await cam.get_capabilities()
    assert capabilities is not None
    assert capabilities["Media"]["XAddr"] == f"{base}/media_service"
    assert capabilities["Media"]["StreamingCapabilities"]["RTP_RTSP_TCP"] is True
    assert capabilities["Events"]["WSPullPointSupport"] is True
    assert capabilities["PTZ"]["XAddr"] == f"{base}/ptz_service"
    services = await devicemgmt.GetServices({"IncludeCapability": True})
    assert services[0].Capabilities._value_1.Security.UsernameToken is True
    assert (await devicemgmt.GetHostname()).Name == "cam1"
    assert "onvif://www.onvif.org/type/ptz" in [s.ScopeItem for s in await devicemgmt.GetScopes()]
    [interface] = await devicemgmt.GetNetworkInterfaces()
    assert interface.IPv4.Config.Manual[0].Address == "127.0.0.1"


async def test_profiles_stream_uri_and_snapshot(cam: ONVIFCamera) -> None:
    media = await cam.create_media_service()
    profiles = await media.GetProfiles()
    assert [p.token for p in profiles] == ["main", "sub"]
    encoder = profiles[1].VideoEncoderConfiguration
    assert (encoder.Encoding, encoder.Resolution.Width, encoder.Resolution.Height) == ("H264", 640, 360)
    assert (encoder.RateControl.FrameRateLimit, encoder.RateControl.BitrateLimit) == (5, 400)
    assert profiles[0].VideoSourceConfiguration.Bounds.width == 1280
    assert profiles[0].PTZConfiguration.NodeToken == "ptz_node"
    assert (await media.GetProfile({"ProfileToken": "sub"})).Name == "Sub stream"
    setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
    uri = await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": "sub"})
    assert uri.Uri == SUB.rtsp_uri
    assert (await cam.get_snapshot_uri("main")).endswith("/onvif/snapshot/main.jpg")
    assert await cam.get_snapshot("main") == JPEG  # HTTP Digest, as the client does by default
    url = await cam.get_snapshot_uri("main")
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as reply:
            assert reply.status == 401
            assert reply.headers["WWW-Authenticate"].startswith('Digest realm="SimCam", qop="auth"')
        basic = {"Authorization": aiohttp.encode_basic_auth("admin", "s3cret")}
        async with session.get(url, headers=basic) as reply:
            assert (reply.status, reply.content_type, await reply.read()) == (200, "image/jpeg", JPEG)
    with pytest.raises(zeep.exceptions.Fault) as info:
        await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": "nope"})
    assert [q.localname for q in info.value.subcodes] == ["InvalidArgVal", "NoProfile"]
    assert [s.token for s in await media.GetVideoSources()] == ["vs0"]
    assert len(await media.GetVideoEncoderConfigurations()) == 2


async def test_ptz_moves_and_presets(sim: Sim, cam: ONVIFCamera) -> None:
    ptz = await cam.create_ptz_service()
    [node] = await ptz.GetNodes()
    assert (await ptz.GetNode({"NodeToken": node.token})).MaximumNumberOfPresets == 32
    assert (await ptz.GetConfiguration({"PTZConfigurationToken": "ptz0"})).DefaultPTZTimeout == dt.timedelta(
        seconds=10
    )
    await ptz.ContinuousMove({"ProfileToken": "main", "Velocity": {"PanTilt": {"x": 1.0, "y": 0.0}}})
    await asyncio.sleep(0.3)
    moving = await ptz.GetStatus({"ProfileToken": "main"})
    assert moving.MoveStatus.PanTilt == "MOVING"
    await ptz.Stop({"ProfileToken": "main"})
    status = await ptz.GetStatus({"ProfileToken": "main"})
    assert status.MoveStatus.PanTilt == "IDLE"
    assert 0.1 < status.Position.PanTilt.x < 0.5 and status.Position.PanTilt.y == 0.0
    assert abs((status.UtcTime - dt.datetime.now(dt.UTC)).total_seconds()) < 2
    position = {"PanTilt": {"x": -0.5, "y": 0.25}, "Zoom": {"x": 1.0}}
    await ptz.AbsoluteMove({"ProfileToken": "main", "Position": position})
    assert sim.device.ptz.crop_window(1280, 720) == (160, 135, 640, 360)
    token = await ptz.SetPreset({"ProfileToken": "main", "PresetName": "door"})
    await ptz.RelativeMove({"ProfileToken": "main", "Translation": {"PanTilt": {"x": 0.5, "y": 0.0}}})
    assert (await ptz.GetStatus({"ProfileToken": "main"})).Position.PanTilt.x == 0.0
    await ptz.GotoPreset({"ProfileToken": "main", "PresetToken": token})
    [preset] = await ptz.GetPresets({"ProfileToken": "main"})
    assert (preset.token, preset.Name, preset.PTZPosition.Zoom.x) == (token, "door", 1.0)
    assert (await ptz.GetStatus({"ProfileToken": "main"})).Position.PanTilt.x == -0.5
    await ptz.RemovePreset({"ProfileToken": "main", "PresetToken": token})
    assert await ptz.GetPresets({"ProfileToken": "main"}) == []


def _messages(pulled: Any) -> list[tuple[str, str, str]]:
    return [
        (m.Topic._value_1, m.Message._value_1.PropertyOperation, m.Message._value_1.Data.SimpleItem[0].Value)
        for m in pulled.NotificationMessage
    ]


async def test_pullpoint_motion_initialized_then_changed(sim: Sim, cam: ONVIFCamera) -> None:
    events = await cam.create_events_service()
    properties = await events.GetEventProperties()
    assert properties.TopicSet is not None
    manager = await cam.create_pullpoint_manager(dt.timedelta(seconds=60), lambda: None)
    pullpoint = manager.get_service()
    pull = {"Timeout": dt.timedelta(seconds=2), "MessageLimit": 10}
    assert _messages(await pullpoint.PullMessages(pull)) == [
        ("tns1:VideoSource/MotionAlarm", "Initialized", "false"),
        ("tns1:VideoSource/GlobalSceneChange/ImagingService", "Initialized", "false"),
    ]
    waiting = asyncio.create_task(pullpoint.PullMessages(pull))
    await asyncio.sleep(0.1)
    sim.motion = True
    started = time.monotonic()
    assert _messages(await waiting) == [("tns1:VideoSource/MotionAlarm", "Changed", "true")]
    assert time.monotonic() - started < 1.5  # the long poll answered when motion began
    sim.faults.add("tamper")
    sim.device.emit_event("tns1:RuleEngine/Custom", {"State": "42"})
    await asyncio.sleep(0.6)
    assert _messages(await pullpoint.PullMessages(pull)) == [
        ("tns1:RuleEngine/Custom", "Changed", "42"),
        ("tns1:VideoSource/GlobalSceneChange/ImagingService", "Changed", "true"),
    ]
    await manager.set_synchronization_point()
    assert [op for _, op, _ in _messages(await pullpoint.PullMessages(pull))] == [
        "Initialized",
        "Initialized",
    ]
    subscription_url = cam.xaddrs[f"{EVENTS}/PullPointSubscription"]
    assert subscription_url.startswith(f"http://127.0.0.1:{sim.device.port}/onvif/subscription/")
    renewed = await (await cam.create_subscription_service("PullPointSubscription")).Renew("PT120S")
    assert 119 < (renewed.TerminationTime - renewed.CurrentTime).total_seconds() <= 120
    await manager.shutdown()  # Unsubscribe
    with pytest.raises(zeep.exceptions.Fault) as info:
        await pullpoint.PullMessages(pull)
    assert [q.localname for q in info.value.subcodes] == ["ResourceUnknownFault"]


async def test_clock_two_hours_off_needs_adjust_time(sim: Sim) -> None:
    sim.faults.add("clock_skew:7200")
    adjusted = ONVIFCamera("127.0.0.1", sim.device.port, "admin", "s3cret", no_cache=True, adjust_time=True)
    naive = ONVIFCamera("127.0.0.1", sim.device.port, "admin", "s3cret", no_cache=True)
    try:
        await adjusted.update_xaddrs()
        assert abs(adjusted.dt_diff.total_seconds() - 7200) < 2
        info = await (await adjusted.create_devicemgmt_service()).GetDeviceInformation()
        assert info.SerialNumber == "SIM0001"
        await naive.update_xaddrs()  # GetSystemDateAndTime and GetServices need no credentials
        with pytest.raises(zeep.exceptions.Fault) as fault:
            await (await naive.create_devicemgmt_service()).GetDeviceInformation()
        assert "off the device clock" in str(fault.value.message)
    finally:
        await adjusted.close()
        await naive.close()


async def test_wrong_password_is_an_auth_error(sim: Sim) -> None:
    camera = ONVIFCamera("127.0.0.1", sim.device.port, "admin", "wrong", no_cache=True)
    try:
        await camera.update_xaddrs()
        with pytest.raises(zeep.exceptions.Fault) as info:
            await (await camera.create_media_service()).GetProfiles()
        assert is_auth_error(info.value)
        assert info.value.code == "env:Sender"
        assert [q.localname for q in info.value.subcodes] == ["NotAuthorized"]
    finally:
        await camera.close()


async def test_slow_and_malformed_soap(sim: Sim, cam: ONVIFCamera) -> None:
    devicemgmt = await cam.create_devicemgmt_service()
    sim.faults.add("slow_soap:2")
    started = time.monotonic()
    assert (await devicemgmt.GetHostname()).Name == "cam1"
    assert time.monotonic() - started >= 2.0
    sim.faults.clear(FaultKind.SLOW_SOAP)
    sim.faults.add("malformed_soap")
    with pytest.raises(zeep.exceptions.TransportError, match="invalid XML"):
        await devicemgmt.GetHostname()
    sim.faults.clear(FaultKind.MALFORMED_SOAP)
    assert (await devicemgmt.GetHostname()).Name == "cam1"


async def test_offline_and_reboot_refuse_connections(sim: Sim, cam: ONVIFCamera) -> None:
    devicemgmt = await cam.create_devicemgmt_service()
    sim.faults.add("offline:30")
    with pytest.raises(aiohttp.ClientConnectionError):
        await devicemgmt.GetHostname()
    sim.faults.clear(FaultKind.OFFLINE)
    reply = await devicemgmt.SystemReboot()
    assert reply == "Rebooting in 5 seconds"
    await asyncio.sleep(0.05)
    assert len(sim.reboots) == 1 and sim.faults.refusing()
    with pytest.raises(aiohttp.ClientConnectionError):
        await devicemgmt.GetHostname()
