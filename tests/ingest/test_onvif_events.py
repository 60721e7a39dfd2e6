"""A camera-side ONVIF tamper alarm becomes a hub event with its clip and a ticket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.sim.camera import CameraSimulator
from adapters.sim.synthetic import write_synthetic_scene
from hub.config.camera import CameraConfig
from hub.tickets.receiver import GridReceiver
from tests.fixtures.hub import API, FAST_MOTION, FAST_RECORDING, StartHub, make_settings, wait_until


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[CameraSimulator]:
    scene = tmp_path / "quiet.mp4"
    await asyncio.to_thread(
        write_synthetic_scene,
        scene,
        width=320,
        height=180,
        seconds=4.0,
        gop_seconds=1.0,
        objects=(),
        preset="ultrafast",
    )
    sim = CameraSimulator(cameras=1, sources=[scene], work_dir=tmp_path / "sim", ptz_video=False)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def test_onvif_tamper_alarm_is_recorded_and_ticketed(
    tmp_path: Path, start_hub: StartHub, simulator: CameraSimulator, grid_receiver: GridReceiver
) -> None:
    cam = simulator.cameras[0]
    config = CameraConfig(
        id="gate",
        url=cam.rtsp_main,
        onvif_url=cam.onvif_url,
        username=cam.username,
        password=SecretStr(cam.password),
    )
    hub = await start_hub(
        make_settings(
            tmp_path,
            cameras=[config],
            webhook_url=grid_receiver.url,
            recording=FAST_RECORDING,
            motion=FAST_MOTION,
        )
    )

    async def online() -> bool:
        body: dict[str, Any] = (await hub.client.get(f"{API}/cameras/gate")).json()
        return bool(body["status"] == "online")

    await wait_until(online, timeout_s=20, what="the camera to come online")

    async def subscribed() -> bool:
        bridge = hub.parts.supervisor._bridges.get("gate")
        return bool(bridge and bridge.subscriber and bridge.subscriber.status.state == "subscribed")

    await wait_until(subscribed, timeout_s=15, what="the ONVIF event subscription")
    await asyncio.sleep(2.5)  # let the pre-roll fill
    cam.faults.add("tamper@0:2")  # the lens is covered for two seconds

    def tamper_tickets() -> list[dict[str, Any]]:
        return [t.payload for t in grid_receiver.tickets if t.payload["event"]["kind"] == "tamper"]

    async def ticketed() -> bool:
        return bool(tamper_tickets())

    await wait_until(ticketed, timeout_s=30, what="the tamper ticket")
    [ticket] = tamper_tickets()
    event = ticket["event"]
    assert (event["severity"], event["camera_id"]) == ("orange", "gate")
    assert event["clip"] is not None and event["clip"]["frames"] > 0
    stored = (await hub.client.get(f"{API}/events/{event['id']}")).json()
    assert stored["state"] == "closed"
    assert stored["details"]["rule"] == "onvif-tamper"
    # The black picture of the covered lens is also motion to the hub's own detector; the
    # camera's alarm is recorded as its own event kind, whatever the detector made of it.
    kinds = {e["kind"] for e in (await hub.client.get(f"{API}/events")).json()["items"]}
    assert "tamper" in kinds
