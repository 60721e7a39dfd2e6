"""A camera going offline reaches the grid system as a ticket, like any other event, damped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.config.camera import CameraConfig
from hub.config.ingest import IngestSettings
from hub.tickets.receiver import GridReceiver
from tests.fixtures.hub import API, SCENE_PATH, StartHub, StartRtsp, closed_port, make_settings, wait_until


async def test_offline_then_online_events_are_ticketed(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp, grid_receiver: GridReceiver
) -> None:
    port = closed_port()
    settings = make_settings(
        tmp_path,
        cameras=[CameraConfig(id="gate", url=f"rtsp://127.0.0.1:{port}/{SCENE_PATH}")],
        webhook_url=grid_receiver.url,
    )
    settings.ingest = IngestSettings(reconnect_initial_s=0.05, reconnect_max_s=0.2, health_hold_s=1.0)
    hub = await start_hub(settings)

    async def kinds() -> list[str]:
        return [t.payload["event"]["kind"] for t in grid_receiver.tickets]

    async def offline_ticket() -> bool:
        return "camera_offline" in await kinds()

    await wait_until(offline_ticket, timeout_s=15, what="the camera_offline ticket")
    events: list[dict[str, Any]] = (
        await hub.client.get(f"{API}/events", params={"kind": "camera_offline"})
    ).json()["items"]
    assert len(events) == 1  # dozens of failed retries, one event
    offline = events[0]
    assert (offline["severity"], offline["state"], offline["clip"]["state"]) == ("orange", "closed", "none")
    assert offline["details"]["status"] == "offline"
    assert offline["details"]["reason"].endswith("connection refused")

    await rtsp_server(port=port)

    async def online_ticket() -> bool:
        return "camera_online" in await kinds()

    await wait_until(online_ticket, timeout_s=20, what="the camera_online ticket")
    assert await kinds() == ["camera_offline", "camera_online"]
    cam = (await hub.client.get(f"{API}/cameras/gate")).json()
    assert cam["status"] == "online"
    assert 0.0 < cam["live"]["uptime_24h"] < 1.0
