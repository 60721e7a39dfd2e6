"""Privacy masks are blacked out before analysis and in the event snapshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import cv2
import numpy as np

from hub.config.camera import CameraConfig
from tests.fixtures.hub import (
    API,
    FAST_MOTION,
    FAST_RECORDING,
    SCENE_PATH,
    StartHub,
    StartRtsp,
    make_settings,
    wait_until,
)

LEFT_HALF = [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
WHOLE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


async def test_masked_half_is_black_in_the_snapshot(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp
) -> None:
    camera = await rtsp_server()
    config = CameraConfig(id="street", url=camera.url(SCENE_PATH), privacy_masks=[LEFT_HALF])
    hub = await start_hub(
        make_settings(tmp_path, cameras=[config], recording=FAST_RECORDING, motion=FAST_MOTION)
    )

    async def stored_snapshot() -> bool:
        items = (await hub.client.get(f"{API}/events", params={"kind": "motion"})).json()["items"]
        return any(e["snapshot_state"] == "stored" for e in items)

    await wait_until(stored_snapshot, timeout_s=30, what="a motion event with its snapshot stored")
    event = next(
        e
        for e in (await hub.client.get(f"{API}/events", params={"kind": "motion"})).json()["items"]
        if e["snapshot_state"] == "stored"
    )
    redirect = await hub.client.get(event["links"]["snapshot"])
    assert redirect.status_code == 307
    data = (await hub.client.get(redirect.headers["location"])).content
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    width = image.shape[1]
    assert float(image[:, : width // 2 - 2].mean()) < 3.0  # JPEG ringing aside, black
    assert float(image[:, width // 2 + 2 :].mean()) > 30.0


async def test_motion_under_a_mask_raises_no_event(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp
) -> None:
    camera = await rtsp_server()
    config = CameraConfig(id="garden", url=camera.url(SCENE_PATH), privacy_masks=[WHOLE])
    hub = await start_hub(
        make_settings(tmp_path, cameras=[config], recording=FAST_RECORDING, motion=FAST_MOTION)
    )

    async def analysed_a_loop() -> bool:
        live = (await hub.client.get(f"{API}/cameras/garden")).json()["live"] or {}
        return bool(live.get("frames_analysed", 0) >= 40)  # 8 s at 5 fps: the object crossed at least once

    await wait_until(analysed_a_loop, timeout_s=30, what="eight seconds of analysis")
    await asyncio.sleep(0.5)
    events = (await hub.client.get(f"{API}/events", params={"kind": "motion"})).json()
    assert events["total"] == 0
