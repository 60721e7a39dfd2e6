"""The thin slice, end to end: a simulated RTSP camera in; an event, its clip and snapshot in the
object store, and a signed ticket at the grid system out. Runs on both databases and both stores.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest

from adapters.sim.media import load_media
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.synthetic import SceneObject, SceneTruth, write_synthetic_scene
from hub.api.app import create_app
from hub.config.camera import CameraConfig
from hub.config.hub import HubSettings
from hub.config.motion import MotionSettings
from hub.config.recording import RecordingSettings
from hub.config.storage import S3Settings, StorageBackend, StorageSettings
from hub.config.webhook import WebhookSettings
from hub.runtime import HubRuntime
from hub.tickets.receiver import GridReceiver
from tests.fixtures.seaweed import S3Endpoint

PRE_ROLL_S = 3.0
POST_ROLL_S = 2.0
GOP_S = 2.0
FPS = 10
WIDTH, HEIGHT = 640, 360
WEBHOOK_SECRET = "e2e-webhook-secret"


@dataclass(frozen=True)
class Scene:
    path: Path
    truth: SceneTruth


@pytest.fixture(scope="session")
def multi_slice_camera_scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """Quiet (the hub connects and fills its pre-roll), one object from 8 s to 12 s, quiet; 4 slices."""
    path = tmp_path_factory.mktemp("e2e") / "scene.mp4"
    truth = write_synthetic_scene(
        path,
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        seconds=16.0,
        gop_seconds=GOP_S,
        slices=4,
        objects=(SceneObject(enter=8.0, leave=12.0),),
    )
    return Scene(path, truth)


@pytest.fixture
async def camera(multi_slice_camera_scene: Scene) -> AsyncIterator[RtspServer]:
    server = RtspServer()
    server.add_stream("cam1/main", await asyncio.to_thread(load_media, multi_slice_camera_scene.path))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def grid() -> AsyncIterator[GridReceiver]:
    receiver = GridReceiver(WEBHOOK_SECRET.encode())
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@pytest.fixture(params=["local", "s3"])
def storage_settings(request: pytest.FixtureRequest) -> StorageSettings:
    if request.param == "local":
        return StorageSettings(backend=StorageBackend.LOCAL)
    endpoint: S3Endpoint = request.getfixturevalue("s3_server")
    return StorageSettings(
        backend=StorageBackend.S3,
        s3=S3Settings(
            endpoint=endpoint.endpoint,
            access_key=endpoint.access_key,
            secret_key=endpoint.secret_key,
            bucket=f"e2e-{uuid.uuid4().hex[:12]}",
        ),
    )


async def wait_for(predicate: Any, *, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")


async def fetch_media(client: httpx.AsyncClient, path: str) -> bytes:
    """Follow the API's 307 to the presigned URL; local links are served by the same app."""
    response = await client.get(path)
    assert response.status_code == 307, response.text
    location = response.headers["location"]
    if location.startswith(str(client.base_url)):
        media = await client.get(location)
    else:
        async with httpx.AsyncClient() as outside:
            media = await outside.get(location)
    assert media.status_code == 200, media.text
    return media.content


def probe_clip(data: bytes) -> tuple[str, int, int, int, float, bool]:
    """Codec, size, decoded frame count, duration and whether the first packet is a keyframe."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        first_key = next(p for p in container.demux(stream) if p.size).is_keyframe
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))  # raises on a decode error
        assert stream.duration is not None and stream.time_base is not None
        duration = float(stream.duration * stream.time_base)
        return stream.codec_context.name, stream.width, stream.height, len(frames), duration, first_key


async def test_camera_to_clip_snapshot_and_ticket(
    tmp_path: Path,
    database_url: str,
    storage_settings: StorageSettings,
    camera: RtspServer,
    grid: GridReceiver,
) -> None:
    settings = HubSettings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        storage=storage_settings,
        recording=RecordingSettings(pre_roll_s=PRE_ROLL_S, post_roll_s=POST_ROLL_S, ring_buffer_s=12),
        motion=MotionSettings(analysis_fps=5, warmup_s=1.0, end_quiet_s=1.0),
        webhook=WebhookSettings(
            url=grid.url, secret=WEBHOOK_SECRET, retry_initial_s=0.2, poll_interval_s=0.2
        ),
        cameras=[CameraConfig(id="cam-1", name="Gate camera", url=camera.url("cam1/main"))],
    )
    runtime = HubRuntime(settings)
    await runtime.start()
    app = create_app(runtime, manage_runtime=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"
        ) as client:

            async def delivered() -> list[Any]:
                return list(grid.tickets)

            tickets = await wait_for(delivered, within=60, what="a ticket at the grid receiver")

            async def stored_event() -> dict[str, Any] | None:
                body = (await client.get("/api/v1/events", params={"state": "closed"})).json()
                for item in body["items"]:
                    if item["clip"]["state"] == "stored" and item["snapshot_state"] == "stored":
                        return dict(item)
                return None

            event = await wait_for(stored_event, within=30, what="a closed event with its media stored")
            clip = event["clip"]

            # The ticket: signed (the receiver verified it), about this event, with its clip facts.
            ticket = next(t.payload for t in tickets if t.payload["event"]["id"] == event["id"])
            assert ticket["schema"] == "sharp-eyes.ticket/v1"
            assert ticket["event"]["kind"] == "motion"
            assert ticket["event"]["severity"] == "yellow"
            assert ticket["event"]["camera_id"] == "cam-1"
            assert ticket["event"]["camera_name"] == "Gate camera"
            assert ticket["event"]["clip"]["sha256"] == clip["sha256"]
            assert ticket["event"]["clip"]["frames"] == clip["frames"]
            assert ticket["event"]["links"]["clip"] == f"/api/v1/events/{event['id']}/clip"
            assert "rtsp://" not in str(ticket)

            # The clip: exactly what the metadata says, remuxed (same codec and size), decodable.
            data = await fetch_media(client, event["links"]["clip"])
            assert hashlib.sha256(data).hexdigest() == clip["sha256"]
            assert len(data) == clip["bytes"]
            codec, width, height, frames, duration, first_key = probe_clip(data)
            assert (codec, width, height) == ("h264", WIDTH, HEIGHT)
            assert first_key
            assert frames == clip["frames"]
            assert duration == pytest.approx(frames / FPS, abs=1.5 / FPS)
            # Window: pre-roll (back to a keyframe, so up to one GOP more) + event + post-roll.
            started = _ts(event["started_at"])
            ended = _ts(event["ended_at"])
            wanted = PRE_ROLL_S + (ended - started) + POST_ROLL_S
            assert wanted - 0.5 <= duration <= wanted + GOP_S + 0.5
            assert _ts(clip["start_at"]) <= started - PRE_ROLL_S + 0.3
            # The object crossed for 4 s; the event covers it (give or take the motion rule's lag).
            assert 2.5 <= ended - started <= 7.0

            # The snapshot: a real JPEG of the full frame, and a smaller thumbnail.
            snapshot = _jpeg(await fetch_media(client, event["links"]["snapshot"]))
            assert snapshot.shape == (HEIGHT, WIDTH, 3)
            thumbnail = _jpeg(await fetch_media(client, event["links"]["thumbnail"]))
            assert thumbnail.shape == (180, 320, 3)

            # The camera is online, and the API says how it streams.
            cam = (await client.get("/api/v1/cameras/cam-1")).json()
            assert cam["status"] == "online"
            assert cam["live"]["width"] == WIDTH and cam["live"]["codec"] == "h264"
            tickets_api = (await client.get("/api/v1/tickets", params={"event_id": event["id"]})).json()
            assert [t["state"] for t in tickets_api["items"]] == ["delivered"]
    finally:
        await runtime.stop()


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _jpeg(data: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    image: np.ndarray[Any, np.dtype[np.uint8]] | None = cv2.imdecode(  # type: ignore[assignment]
        np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR
    )
    assert image is not None, "not a JPEG"
    return image
