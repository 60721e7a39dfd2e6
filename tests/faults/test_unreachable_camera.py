"""A camera whose port is closed: offline with the reason, retried quietly, online once it answers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hub.config.camera import CameraConfig
from hub.config.ingest import IngestSettings
from tests.fixtures.hub import (
    API,
    SCENE_PATH,
    RunningHub,
    StartHub,
    StartRtsp,
    closed_port,
    make_settings,
    wait_until,
)

PASSWORD = "n0t-in-any-log"


async def _camera(hub: RunningHub) -> dict[str, Any]:
    response = await hub.client.get(f"{API}/cameras/door")
    assert response.status_code == 200
    assert PASSWORD not in response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_unreachable_camera_is_offline_retried_and_comes_online(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    port = closed_port()
    url = f"rtsp://127.0.0.1:{port}/{SCENE_PATH}"
    camera = CameraConfig(id="door", url=url, username="viewer", password=SecretStr(PASSWORD))
    settings = make_settings(tmp_path, cameras=[camera])
    settings.ingest = IngestSettings(reconnect_initial_s=0.05, reconnect_max_s=0.2)
    hub = await start_hub(settings)
    refused = f"rtsp://viewer:***@127.0.0.1:{port}/{SCENE_PATH}: connection refused"

    async def offline() -> bool:
        cam = await _camera(hub)
        return bool(cam["status"] == "offline" and cam["status_reason"] == refused)

    await wait_until(offline, timeout_s=10, what="the camera to be offline")

    def attempts() -> int:
        return sum(1 for m in caplog.messages if m.startswith("door: status offline -> connecting"))

    async def retried() -> bool:
        return attempts() >= 3

    await wait_until(retried, timeout_s=10, what="three reconnection attempts")
    cam = await _camera(hub)
    assert cam["live"]["reason"] == refused
    assert cam["reconnects"] == 0
    # Logged once when it went offline, not once per retry.
    assert caplog.messages.count(f"door: offline: {refused}") == 1

    await rtsp_server(port=port)

    async def online() -> bool:
        return bool((await _camera(hub))["status"] == "online")

    await wait_until(online, timeout_s=15, what="the camera to come online")
    cam = await _camera(hub)
    assert (cam["status_reason"], cam["reconnects"]) == ("", 1)
    assert cam["main_url"] == url
    assert cam["live"]["reason"] == ""
    status = (await hub.client.get(f"{API}/status")).json()
    assert status["cameras"]["door"]["reason"] == ""
    assert "door: status connecting -> online " in caplog.messages
    assert PASSWORD not in caplog.text
