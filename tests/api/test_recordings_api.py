"""Continuous recording through the API: a camera streaming the fixture scene, its segments, an export."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest

from hub.config.camera import CameraConfig
from tests.fixtures.hub import (
    API,
    FAST_MOTION,
    FAST_RECORDING,
    SCENE_PATH,
    RunningHub,
    StartHub,
    StartRtsp,
    make_settings,
    wait_until,
)

SEGMENT_S = 5.0  # the config's minimum; the scene has a 1 s GOP at 10 fps
GOP_S, FPS = 1.0, 10


async def _segments(hub: RunningHub, camera_id: str = "cam") -> list[dict[str, Any]]:
    response = await hub.client.get(f"{API}/cameras/{camera_id}/segments")
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_continuous_camera_is_segmented_and_a_range_exported(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp
) -> None:
    server = await rtsp_server()
    camera = CameraConfig(id="cam", url=server.url(SCENE_PATH), continuous=True)
    recording = FAST_RECORDING.model_copy(update={"segment_s": SEGMENT_S})
    hub = await start_hub(make_settings(tmp_path, cameras=[camera], recording=recording, motion=FAST_MOTION))
    found: list[dict[str, Any]] = []

    async def listed() -> bool:
        found[:] = await _segments(hub)
        return bool(found)

    await wait_until(listed, timeout_s=15, what="a continuous-recording segment")
    segment = found[0]
    assert segment["key"].startswith("segments/cam/") and segment["key"].endswith(".mp4")
    assert segment["codec"] == "h264" and (segment["width"], segment["height"]) == (320, 180)
    assert SEGMENT_S - 0.5 <= segment["duration_s"] <= SEGMENT_S + GOP_S + 0.5
    assert segment["state"] in ("spooled", "stored")

    seg_start = datetime.fromisoformat(segment["start_at"])
    start, end = seg_start + timedelta(seconds=1.5), seg_start + timedelta(seconds=4)
    response = await hub.client.get(
        f"{API}/cameras/cam/export.mp4", params={"start": start.isoformat(), "end": end.isoformat()}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    exported_start = datetime.fromisoformat(response.headers["X-Export-Start"])
    assert start - timedelta(seconds=GOP_S + 0.05) <= exported_start <= start
    path = tmp_path / "export.mp4"
    path.write_bytes(response.content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        duration = float(container.duration or 0) / av.time_base
    wanted = (end - start).total_seconds()
    assert wanted - 0.2 <= duration <= wanted + GOP_S + 0.2
    assert abs(frames - duration * FPS) <= 1
    assert int(response.headers["X-Export-Frames"]) == frames


@pytest.mark.parametrize(
    ("start", "end", "detail"),
    [
        ("2024-05-01T12:00:10Z", "2024-05-01T12:00:10Z", "end must be after start"),
        ("2024-05-01T12:00:00Z", "2024-05-01T13:00:01Z", "the range must not be longer than 1 hour"),
        ("2024-05-01T12:00:00", "2024-05-01T12:01:00Z", "start must carry a time zone (e.g. Z)"),
    ],
)
async def test_an_invalid_range_is_422(hub: RunningHub, start: str, end: str, detail: str) -> None:
    response = await hub.client.get(f"{API}/cameras/cam/export.mp4", params={"start": start, "end": end})

    assert response.status_code == 422
    assert response.json()["detail"] == detail


async def test_a_range_without_recording_is_404(hub: RunningHub) -> None:
    response = await hub.client.get(
        f"{API}/cameras/cam/export.mp4",
        params={"start": "2024-05-01T12:00:00Z", "end": "2024-05-01T12:01:00Z"},
    )

    assert response.status_code == 404
    assert response.json()["detail"] == (
        "camera 'cam' has no recording from 2024-05-01T12:00:00+00:00 to 2024-05-01T12:01:00+00:00"
    )


async def test_the_segments_of_an_unknown_camera_are_404(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/cameras/nope/segments")

    assert response.status_code == 404
    assert response.json()["detail"] == "no camera 'nope'"
