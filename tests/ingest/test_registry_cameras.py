"""Cameras added, changed and deleted through the API are opened and closed while the hub runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.config.camera import CameraConfig
from tests.fixtures.hub import API, SCENE_PATH, StartHub, StartRtsp, make_settings, wait_until


async def test_api_cameras_start_change_and_stop_streaming(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp
) -> None:
    camera = await rtsp_server()
    yaml_camera = CameraConfig(id="yaml-cam", url=camera.url(SCENE_PATH))
    hub = await start_hub(make_settings(tmp_path, cameras=[yaml_camera]))
    client = hub.client

    async def status(camera_id: str) -> str:
        body: dict[str, Any] = (await client.get(f"{API}/cameras/{camera_id}")).json()
        return str(body.get("status"))

    created = await client.post(
        f"{API}/cameras",
        json={"id": "api-cam", "name": "Added at run time", "main_url": camera.url(SCENE_PATH)},
    )
    assert created.status_code == 201, created.text

    async def api_cam_online() -> bool:
        return await status("api-cam") == "online"

    await wait_until(api_cam_online, timeout_s=15, what="the API camera to come online")
    assert set(hub.parts.supervisor.pipelines) == {"yaml-cam", "api-cam"}

    # Deleted (with its events) while it streams: closed in order, nothing left running.
    second = await client.post(f"{API}/cameras", json={"id": "doomed", "main_url": camera.url(SCENE_PATH)})
    assert second.status_code == 201, second.text

    async def doomed_online() -> bool:
        return await status("doomed") == "online"

    await wait_until(doomed_online, timeout_s=15, what="the second camera to come online")
    purged = await client.delete(f"{API}/cameras/doomed", params={"purge": "true"})
    assert purged.status_code == 204, purged.text

    async def doomed_closed() -> bool:
        return "doomed" not in hub.parts.supervisor.pipelines

    await wait_until(doomed_closed, timeout_s=10, what="the deleted camera to close")
    assert (await client.get(f"{API}/events", params={"camera_id": "doomed"})).json()["total"] == 0

    # Disabled: closed, and the YAML camera keeps streaming.
    patched = await client.patch(f"{API}/cameras/api-cam", json={"enabled": False})
    assert patched.status_code == 200, patched.text

    async def closed() -> bool:
        return "api-cam" not in hub.parts.supervisor.pipelines

    await wait_until(closed, timeout_s=10, what="the disabled camera to close")
    assert await status("yaml-cam") == "online"

    # Re-enabled with a wrong path: reopened with the new URL, and offline for a clear reason.
    patched = await client.patch(
        f"{API}/cameras/api-cam", json={"enabled": True, "main_url": camera.url("no-such-path")}
    )
    assert patched.status_code == 200, patched.text

    async def offline() -> bool:
        return await status("api-cam") == "offline"

    await wait_until(offline, timeout_s=15, what="the camera with a bad path to go offline")

    # Deleted while its supervisor retries: closed, and nothing crashes.
    deleted = await client.delete(f"{API}/cameras/api-cam", params={"purge": "true"})  # it may have events
    assert deleted.status_code == 204, deleted.text
    await wait_until(closed, timeout_s=10, what="the deleted camera to close")
    assert (await client.get(f"{API}/cameras/api-cam")).status_code == 404
    assert await status("yaml-cam") == "online"
