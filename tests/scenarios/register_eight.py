"""Run inside a private network namespace (see ``tests/netns.py``): eight simulated ONVIF cameras
are discovered by multicast through the API, registered, and must all come online with main and
sub streams, a snapshot and PTZ. Prints one JSON object with what it saw, for the test to check.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from adapters.sim.camera import CameraSimulator
from adapters.sim.synthetic import write_synthetic_scene
from hub.api.app import create_app
from hub.config.hub import HubSettings
from hub.config.ingest import IngestSettings
from hub.runtime import HubRuntime

CAMERAS = 8
API = "/api/v1"


async def _wait(what: str, check: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def scenario(work: Path) -> dict[str, Any]:
    scene = work / "scene.mp4"
    await asyncio.to_thread(write_synthetic_scene, scene, width=320, height=180, seconds=4.0, gop_seconds=1.0)
    sim = CameraSimulator(
        cameras=CAMERAS,
        sources=[scene],
        work_dir=work / "sim",
        discovery=True,
        discovery_multicast=True,
        ptz_video=False,
        password="s3cret-pw",
    )
    await sim.start()
    settings = HubSettings(
        data_dir=work / "hub",
        secret_key=SecretStr("scenario-secret"),
        ingest=IngestSettings(reconnect_initial_s=0.2, reconnect_max_s=2.0),
    )
    runtime = HubRuntime(settings)
    await runtime.start()
    result: dict[str, Any] = {}
    try:
        transport = httpx.ASGITransport(app=create_app(runtime, manage_runtime=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub", timeout=30) as client:
            found = await client.post(f"{API}/discovery", json={"multicast_interface": "lo", "timeout_s": 3})
            found.raise_for_status()
            devices = found.json()["devices"]
            result["discovered"] = len(devices)
            ids = []
            for i, device in enumerate(sorted(devices, key=lambda d: d["xaddrs"][0])):
                camera_id = f"cam-{i + 1}"
                created = await client.post(
                    f"{API}/cameras",
                    json={
                        "id": camera_id,
                        "name": f"Discovered {i + 1}",
                        "protocol": "onvif",
                        "onvif_url": device["xaddrs"][0],
                        "username": "admin",
                        "password": "s3cret-pw",
                    },
                )
                if created.status_code != 201:
                    raise RuntimeError(f"registering {camera_id}: {created.status_code} {created.text}")
                ids.append(camera_id)
            result["registered"] = len(ids)
            rediscovered = (await client.post(f"{API}/discovery", json={"multicast_interface": "lo"})).json()
            result["marked_registered"] = sum(1 for d in rediscovered["devices"] if d["registered_camera_id"])

            async def all_online() -> bool:
                body = (await client.get(f"{API}/cameras", params={"limit": 100})).json()
                return sum(1 for c in body["items"] if c["status"] == "online") == CAMERAS

            await _wait("all cameras online", all_online, 60)
            cameras = (await client.get(f"{API}/cameras", params={"limit": 100})).json()["items"]
            result["online"] = sum(1 for c in cameras if c["status"] == "online")
            result["with_sub_stream"] = sum(1 for c in cameras if c["sub_url"])
            result["password_in_listing"] = "s3cret-pw" in json.dumps(cameras)
            snapshots = 0
            for camera_id in ids:
                shot = await client.get(f"{API}/cameras/{camera_id}/snapshot.jpg")
                snapshots += int(shot.status_code == 200 and shot.content[:2] == b"\xff\xd8")
            result["snapshots"] = snapshots
            moved = 0
            for camera_id in ids:
                before = (await client.get(f"{API}/cameras/{camera_id}/ptz/status")).json()
                await client.post(
                    f"{API}/cameras/{camera_id}/ptz/absolute", json={"pan": 0.5, "tilt": 0.0, "zoom": 0.0}
                )
                after = (await client.get(f"{API}/cameras/{camera_id}/ptz/status")).json()
                moved += int(after != before)
            result["ptz_moved"] = moved
    finally:
        await runtime.stop()
        await sim.stop()
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(scenario(Path(tmp)))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
