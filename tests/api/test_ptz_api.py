"""PTZ through the API against simulated cameras on 127.0.0.1: moves change the simulated head,
presets round-trip, and a camera without PTZ, a bad value or an unreachable camera is a problem."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.sim.camera import CameraSimulator
from adapters.sim.faults import CameraFaults
from adapters.sim.onvif import DeviceIdentity, OnvifDevice, SimProfile
from hub.config.camera import CameraConfig
from tests.fixtures.hub import API, RunningHub, StartHub, closed_port, make_settings
from tests.fixtures.sim_cameras import SIM_PASSWORD, SIM_USER, StartSim, register_onvif

PTZ = f"{API}/cameras/gate/ptz"


@pytest.fixture
async def hub(tmp_path: Path, start_hub: StartHub) -> RunningHub:
    return await start_hub(make_settings(tmp_path, ingest=False))


@pytest.fixture
async def sim(hub: RunningHub, start_sim: StartSim) -> CameraSimulator:
    """One simulated PTZ camera, registered as ``gate``."""
    sim = await start_sim(cameras=1)
    assert (await register_onvif(hub.client, sim.cameras[0], "gate")).status_code == 201
    return sim


@pytest.fixture
async def fixed_device() -> AsyncIterator[OnvifDevice]:
    """A camera without PTZ (CameraSimulator always makes PTZ heads)."""

    async def snapshot() -> bytes:
        return b""

    device = OnvifDevice(
        identity=DeviceIdentity(serial_number="FIX-1", hostname="fixed"),
        profiles=[SimProfile("main", "Main", 640, 360, 10.0, 1000, "rtsp://127.0.0.1:9/fixed")],
        username=SIM_USER,
        password=SIM_PASSWORD,
        faults=CameraFaults(),
        snapshot=snapshot,
        has_ptz=False,
    )
    await device.start()
    yield device
    await device.stop()


async def test_continuous_move_then_stop_turns_the_head(hub: RunningHub, sim: CameraSimulator) -> None:
    head = sim.cameras[0].device.ptz

    moved = await hub.client.post(f"{PTZ}/continuous", json={"pan": 1.0, "tilt": -0.5})
    await asyncio.sleep(0.3)
    moving = await hub.client.get(f"{PTZ}/status")
    stopped = await hub.client.post(f"{PTZ}/stop")

    assert (moved.status_code, stopped.status_code) == (204, 204)
    assert moving.json()["moving"] is True
    pan, tilt, zoom = head.position()
    assert 0.1 < pan < 0.6 and -0.3 < tilt < -0.05 and zoom == 0.0
    assert head.moving() == (False, False)
    status = (await hub.client.get(f"{PTZ}/status")).json()
    assert status["pan"] == pytest.approx(pan, abs=1e-5) and status["tilt"] == pytest.approx(tilt, abs=1e-5)
    assert status["moving"] is False and status["utc_time"] is not None


async def test_continuous_move_with_a_timeout(hub: RunningHub, sim: CameraSimulator) -> None:
    moved = await hub.client.post(f"{PTZ}/continuous", json={"zoom": 1.0, "timeout_s": 0.2})
    await asyncio.sleep(0.4)

    assert moved.status_code == 204
    assert sim.cameras[0].device.ptz.moving() == (False, False)
    assert sim.cameras[0].device.ptz.position()[2] == pytest.approx(0.1, abs=0.04)


async def test_absolute_and_relative_moves(hub: RunningHub, sim: CameraSimulator) -> None:
    head = sim.cameras[0].device.ptz

    absolute = await hub.client.post(f"{PTZ}/absolute", json={"pan": -0.5, "tilt": 0.25, "zoom": 1.0})
    assert absolute.status_code == 204
    assert head.position() == (-0.5, 0.25, 1.0)
    relative = await hub.client.post(f"{PTZ}/relative", json={"pan": 0.25, "tilt": -0.25, "zoom": -0.5})
    assert relative.status_code == 204
    assert head.position() == (-0.25, 0.0, 0.5)


async def test_presets_set_goto_remove(hub: RunningHub, sim: CameraSimulator) -> None:
    head = sim.cameras[0].device.ptz
    await hub.client.post(f"{PTZ}/absolute", json={"pan": 0.5, "tilt": -0.5, "zoom": 0.25})

    created = await hub.client.post(f"{PTZ}/presets", json={"name": " door "})
    assert created.status_code == 201
    token = created.json()["token"]
    assert created.json() == {"token": token, "name": "door"}
    listed = await hub.client.get(f"{PTZ}/presets")
    assert listed.json() == [
        {"token": token, "name": "door", "position": {"pan": 0.5, "tilt": -0.5, "zoom": 0.25}}
    ]
    await hub.client.post(f"{PTZ}/absolute", json={"pan": 0, "tilt": 0})
    went = await hub.client.post(f"{PTZ}/presets/{token}/goto")
    assert went.status_code == 204
    assert head.position() == (0.5, -0.5, 0.25)
    removed = await hub.client.delete(f"{PTZ}/presets/{token}")
    assert removed.status_code == 204
    assert (await hub.client.get(f"{PTZ}/presets")).json() == []
    assert head.presets == {}

    missing = await hub.client.post(f"{PTZ}/presets/{token}/goto")
    assert missing.status_code == 404
    assert (
        missing.json()["detail"] == f"gate: GotoPreset: SOAP fault InvalidArgVal/NoToken: no preset {token!r}"
    )


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("continuous", {"pan": 1.5}, "body.pan"),
        ("continuous", {"timeout_s": 0}, "body.timeout_s"),
        ("relative", {"zoom": -1.5}, "body.zoom"),
        ("absolute", {"pan": 0, "tilt": 0, "zoom": -0.1}, "body.zoom"),
        ("absolute", {"pan": 0}, "body.tilt"),
        ("presets", {"name": "  "}, "body.name"),
        ("continuous", {"pan": 0.1, "speed": 2}, "body.speed"),
    ],
)
async def test_bad_values_are_refused_before_the_camera_is_asked(
    hub: RunningHub, sim: CameraSimulator, path: str, body: dict[str, object], location: str
) -> None:
    refused = await hub.client.post(f"{PTZ}/{path}", json=body)

    assert refused.status_code == 422
    assert [e["location"] for e in refused.json()["errors"]] == [location]
    assert sim.cameras[0].device.ptz.position() == (0.0, 0.0, 0.0)


async def test_camera_without_ptz_is_a_conflict(hub: RunningHub, fixed_device: OnvifDevice) -> None:
    body = {
        "id": "fixed",
        "protocol": "onvif",
        "onvif_url": fixed_device.device_service_url,
        "username": SIM_USER,
        "password": SIM_PASSWORD,
    }
    created = await hub.client.post(f"{API}/cameras", json=body)
    assert (created.status_code, created.json()["ptz"]) == (201, False)

    refused = await hub.client.post(f"{API}/cameras/fixed/ptz/continuous", json={"pan": 0.5})

    assert refused.status_code == 409
    problem = refused.json()
    assert (problem["title"], problem["detail"]) == (
        "Not supported by the camera",
        "fixed: the camera has no ptz service",
    )


async def test_unreachable_camera_and_camera_without_onvif(hub: RunningHub) -> None:
    plain = {"id": "plain", "main_url": "rtsp://127.0.0.1:9/live"}
    gone = {
        "id": "gone",
        "protocol": "onvif",
        "onvif_url": f"http://127.0.0.1:{closed_port()}/onvif/device_service",
        "main_url": "rtsp://127.0.0.1:9/gone",
    }
    for body in (plain, gone):
        assert (await hub.client.post(f"{API}/cameras", json=body)).status_code == 201

    unreachable = await hub.client.post(f"{API}/cameras/gone/ptz/stop")
    not_onvif = await hub.client.get(f"{API}/cameras/plain/ptz/status")
    unknown = await hub.client.get(f"{API}/cameras/nope/ptz/presets")

    assert (unreachable.status_code, unreachable.json()["camera_status"]) == (502, "offline")
    assert "unreachable" in unreachable.json()["detail"]
    assert (not_onvif.status_code, not_onvif.json()["title"]) == (409, "Not ONVIF")
    assert unknown.status_code == 404


async def test_yaml_camera_uses_its_config_credentials(
    tmp_path: Path, start_hub: StartHub, start_sim: StartSim
) -> None:
    sim = await start_sim(cameras=1)
    config = CameraConfig(
        id="yaml-ptz",
        url=sim.cameras[0].rtsp_main,
        onvif_url=sim.cameras[0].onvif_url,
        username=SIM_USER,
        password=SecretStr(SIM_PASSWORD),
    )
    yaml_hub = await start_hub(make_settings(tmp_path / "yaml", ingest=False, cameras=[config]))

    moved = await yaml_hub.client.post(
        f"{API}/cameras/yaml-ptz/ptz/absolute", json={"pan": 0.75, "tilt": 0.5}
    )

    assert moved.status_code == 204
    assert sim.cameras[0].device.ptz.position() == (0.75, 0.5, 0.0)
