"""``GET /cameras/{id}/snapshot.jpg`` against simulated cameras on 127.0.0.1: the camera's picture
fetched with HTTP Digest, privacy masks drawn black, and clear problems when there is none."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from adapters.sim.camera import CameraSimulator
from adapters.source import BGRImage
from tests.fixtures.hub import API, RunningHub, StartHub, closed_port, make_settings
from tests.fixtures.sim_cameras import StartSim, register_onvif

LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]


@pytest.fixture
async def hub(tmp_path: Path, start_hub: StartHub) -> RunningHub:
    return await start_hub(make_settings(tmp_path, ingest=False))


@pytest.fixture
async def sim(hub: RunningHub, start_sim: StartSim) -> CameraSimulator:
    """One simulated camera, registered as ``gate`` by its ONVIF URL."""
    sim = await start_sim(cameras=1)
    assert (await register_onvif(hub.client, sim.cameras[0], "gate")).status_code == 201
    return sim


def _decode(jpeg: bytes) -> BGRImage:
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable JPEG"
    picture: BGRImage = image.astype(np.uint8, copy=False)
    return picture


async def test_snapshot_is_the_cameras_picture(hub: RunningHub, sim: CameraSimulator) -> None:
    main = sim.cameras[0].device.profiles[0]

    shot = await hub.client.get(f"{API}/cameras/gate/snapshot.jpg")

    assert shot.status_code == 200
    assert (shot.headers["content-type"], shot.headers["cache-control"]) == ("image/jpeg", "no-store")
    assert _decode(shot.content).shape == (main.height, main.width, 3)


async def test_privacy_mask_blacks_out_the_left_half(hub: RunningHub, sim: CameraSimulator) -> None:
    patched = await hub.client.patch(f"{API}/cameras/gate", json={"privacy_masks": [LEFT_HALF]})
    assert patched.status_code == 200

    shot = await hub.client.get(f"{API}/cameras/gate/snapshot.jpg")

    assert shot.status_code == 200
    image = _decode(shot.content)
    width = image.shape[1]
    assert image[:, : width // 2 - 2].mean() < 5
    assert image[:, width // 2 + 2 :].mean() > 20


async def test_snapshot_problems(hub: RunningHub, sim: CameraSimulator) -> None:
    plain = {"id": "plain", "main_url": "rtsp://127.0.0.1:9/live"}
    silent = {
        "id": "silent",
        "main_url": "rtsp://127.0.0.1:9/live",
        "snapshot_url": f"http://127.0.0.1:{closed_port()}/snapshot.jpg",
    }
    for body in (plain, silent):
        assert (await hub.client.post(f"{API}/cameras", json=body)).status_code == 201

    unknown = await hub.client.get(f"{API}/cameras/nope/snapshot.jpg")
    no_uri = await hub.client.get(f"{API}/cameras/plain/snapshot.jpg")
    no_answer = await hub.client.get(f"{API}/cameras/silent/snapshot.jpg")

    assert unknown.status_code == 404
    assert (no_uri.status_code, no_uri.json()["title"]) == (404, "No snapshot")
    assert no_answer.status_code == 502
    assert no_answer.headers["content-type"] == "application/problem+json"
    assert no_answer.json()["detail"].startswith("camera 'silent': the camera does not answer (ConnectError")


async def test_wrong_stored_password_is_a_clear_problem(hub: RunningHub, sim: CameraSimulator) -> None:
    assert (await hub.client.patch(f"{API}/cameras/gate", json={"password": "not-it"})).status_code == 200

    shot = await hub.client.get(f"{API}/cameras/gate/snapshot.jpg")

    assert shot.status_code == 502
    assert shot.json()["detail"] == "camera 'gate': the camera refused the credentials (HTTP 401)"


async def test_a_reply_that_is_no_picture_is_a_problem(hub: RunningHub, start_sim: StartSim) -> None:
    sim = await start_sim(cameras=1)

    async def not_a_picture() -> bytes:
        return b"<html>oops</html>"

    sim.cameras[0].device.snapshot = not_a_picture
    assert (await register_onvif(hub.client, sim.cameras[0], "gate")).status_code == 201

    shot = await hub.client.get(f"{API}/cameras/gate/snapshot.jpg")

    assert shot.status_code == 502
    assert (
        shot.json()["detail"]
        == "camera 'gate': the snapshot URI sent no picture (not a decodable JPEG image)"
    )
