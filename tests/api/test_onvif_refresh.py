"""Registering a camera by its ONVIF URL alone, against simulated cameras on 127.0.0.1: the hub
reads it and fills the URIs, PTZ and device info; a camera it cannot read is registered with the
status that says why; ``/refresh`` reads it again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapters.sim.camera import CameraSimulator
from adapters.sim.onvif.services import SNAPSHOT_PATH
from hub.config.camera import CameraConfig
from tests.fixtures.hub import API, RunningHub, StartHub, closed_port, make_settings
from tests.fixtures.sim_cameras import SIM_PASSWORD, StartSim, register_onvif


@pytest.fixture
async def hub(tmp_path: Path, start_hub: StartHub, database_url: str) -> RunningHub:
    """On SQLite and PostgreSQL, with one camera from the YAML config, ``yaml-cam``."""
    yaml_camera = CameraConfig(id="yaml-cam", url="rtsp://127.0.0.1:9/live", enabled=False)
    settings = make_settings(tmp_path, database_url=database_url, ingest=False, cameras=[yaml_camera])
    return await start_hub(settings)


@pytest.fixture
async def sim(start_sim: StartSim) -> CameraSimulator:
    return await start_sim(cameras=1)


async def test_register_by_onvif_url_fills_the_camera_from_the_device(
    hub: RunningHub, sim: CameraSimulator
) -> None:
    camera = sim.cameras[0]

    created = await register_onvif(hub.client, camera, "gate")

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["main_url"], body["sub_url"]) == (camera.rtsp_main, camera.rtsp_sub)
    assert body["snapshot_url"] == camera.device.base_url() + SNAPSHOT_PATH + "main.jpg"
    assert (body["ptz"], body["status"], body["status_reason"], body["has_password"]) == (
        True,
        "unknown",
        "",
        True,
    )
    info = body["device_info"]
    assert {k: info[k] for k in ("manufacturer", "model", "firmware", "serial")} == {
        "manufacturer": "SharpEyes",
        "model": "SimCam",
        "firmware": "1.0",
        "serial": "SIM0001",
    }
    main, sub = camera.device.profiles
    assert [(p["token"], p["width"], p["height"]) for p in info["profiles"]] == [
        ("main", main.width, main.height),
        ("sub", sub.width, sub.height),
    ]
    assert (info["main_profile"], info["sub_profile"]) == ("main", "sub")
    assert info["capabilities"] == {"media": True, "ptz": True, "events": True}
    fetched = await hub.client.get(f"{API}/cameras/gate")
    listed = await hub.client.get(f"{API}/cameras")
    for reply in (created, fetched, listed):
        assert SIM_PASSWORD not in reply.text and "admin@" not in reply.text
    assert fetched.json()["main_url"] == camera.rtsp_main


async def test_given_stream_urls_are_kept_and_the_device_is_not_read(
    hub: RunningHub, sim: CameraSimulator
) -> None:
    created = await register_onvif(hub.client, sim.cameras[0], "by-hand", main_url="rtsp://127.0.0.1:9/mine")

    assert created.status_code == 201
    assert (created.json()["main_url"], created.json()["device_info"]) == ("rtsp://127.0.0.1:9/mine", None)


async def test_wrong_password_registers_the_camera_as_unauthorized(
    hub: RunningHub, sim: CameraSimulator
) -> None:
    created = await register_onvif(hub.client, sim.cameras[0], "gate", password="wrong-password")

    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["main_url"], body["device_info"]) == ("unauthorized", "", None)
    assert body["status_reason"].startswith("ONVIF: ")
    assert "credentials refused" in body["status_reason"]
    assert "wrong-password" not in created.text


async def test_unreachable_camera_is_registered_offline(hub: RunningHub) -> None:
    body = {
        "id": "gone",
        "protocol": "onvif",
        "onvif_url": f"http://127.0.0.1:{closed_port()}/onvif/device_service",
        "username": "admin",
        "password": "x",
    }

    created = await hub.client.post(f"{API}/cameras", json=body)

    assert created.status_code == 201
    assert created.json()["status"] == "offline"
    assert "unreachable" in created.json()["status_reason"]


async def test_fixed_credentials_then_refresh_fills_the_camera(
    hub: RunningHub, sim: CameraSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register_onvif(hub.client, sim.cameras[0], "gate", password="wrong-password")
    pokes: list[None] = []
    monkeypatch.setattr(hub.parts.registry, "changed", lambda: pokes.append(None))
    patched = await hub.client.patch(f"{API}/cameras/gate", json={"password": SIM_PASSWORD})
    assert patched.status_code == 200
    pokes.clear()

    refreshed = await hub.client.post(f"{API}/cameras/gate/refresh")

    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert (body["main_url"], body["status"], body["status_reason"]) == (
        sim.cameras[0].rtsp_main,
        "unknown",
        "",
    )
    assert pokes == [None]  # the supervisor is told to reopen it


async def test_refresh_picks_up_a_changed_device(hub: RunningHub, sim: CameraSimulator) -> None:
    camera = sim.cameras[0]
    await register_onvif(hub.client, camera, "gate")
    main, sub = camera.device.profiles
    camera.device.profiles[1] = dataclasses.replace(
        sub, rtsp_uri=camera.rtsp_sub + "-v2", width=320, height=180
    )

    refreshed = await hub.client.post(f"{API}/cameras/gate/refresh")

    assert refreshed.status_code == 200
    assert refreshed.json()["sub_url"] == camera.rtsp_sub + "-v2"
    stored = (await hub.client.get(f"{API}/cameras/gate")).json()
    assert stored["sub_url"] == camera.rtsp_sub + "-v2"
    assert [(p["width"], p["height"]) for p in stored["device_info"]["profiles"]] == [
        (main.width, main.height),
        (320, 180),
    ]


async def test_refresh_of_an_unreachable_camera_stores_its_status(
    hub: RunningHub, sim: CameraSimulator
) -> None:
    await register_onvif(hub.client, sim.cameras[0], "gate")
    await sim.cameras[0].device.stop()

    refreshed = await hub.client.post(f"{API}/cameras/gate/refresh")

    assert refreshed.status_code == 502
    problem = refreshed.json()
    assert (problem["title"], problem["camera_status"]) == ("Camera request failed", "offline")
    assert problem["detail"].startswith("gate: ")
    stored = (await hub.client.get(f"{API}/cameras/gate")).json()
    assert stored["status"] == "offline" and stored["status_reason"].startswith("ONVIF: ")
    assert stored["main_url"] == sim.cameras[0].rtsp_main  # what was read before is kept


async def test_refresh_refuses_unknown_rtsp_and_yaml_cameras(hub: RunningHub) -> None:
    rtsp = {"id": "plain", "main_url": "rtsp://127.0.0.1:9/live"}
    assert (await hub.client.post(f"{API}/cameras", json=rtsp)).status_code == 201

    unknown = await hub.client.post(f"{API}/cameras/nope/refresh")
    plain = await hub.client.post(f"{API}/cameras/plain/refresh")
    yaml = await hub.client.post(f"{API}/cameras/yaml-cam/refresh")

    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no camera 'nope'")
    assert (plain.status_code, plain.json()["title"]) == (409, "Not ONVIF")
    assert "RTSP camera" in plain.json()["detail"]
    assert (yaml.status_code, yaml.json()["title"]) == (409, "Camera is read-only")
