"""The object store goes away while a clip is produced: the clip waits in the spool, then arrives."""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from hub.config.camera import CameraConfig
from hub.config.storage import S3Settings, StorageBackend, StorageSettings
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
from tests.fixtures.seaweed import SeaweedServer


async def _events(hub: RunningHub) -> list[dict[str, Any]]:
    response = await hub.client.get(f"{API}/events", params={"camera_id": "cam"})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _clip_state(hub: RunningHub, state: str) -> dict[str, Any]:
    """Wait for the first event whose clip reaches ``state``; return it."""
    found: list[dict[str, Any]] = []

    async def reached() -> bool:
        found[:] = [e for e in await _events(hub) if e["clip"]["state"] == state]
        return bool(found)

    await wait_until(reached, timeout_s=20, what=f"an event with its clip {state}")
    return found[-1]


async def _start_camera_hub(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp, **kw: Any
) -> RunningHub:
    server = await rtsp_server()
    camera = CameraConfig(id="cam", url=server.url(SCENE_PATH))
    settings = make_settings(tmp_path, cameras=[camera], recording=FAST_RECORDING, motion=FAST_MOTION, **kw)
    return await start_hub(settings)


async def _download(hub: RunningHub, event_id: str) -> bytes:
    redirect = await hub.client.get(f"{API}/events/{event_id}/clip")
    assert redirect.status_code == 307
    return await _fetch(hub, redirect.headers["location"])


async def _fetch(hub: RunningHub, location: str) -> bytes:
    url = urlsplit(location)
    if url.path.startswith(f"{API}/objects/"):  # the local backend: served by the hub itself
        response = await hub.client.get(f"{url.path}?{url.query}")
    else:  # S3: the presigned URL points at the S3 server
        async with httpx.AsyncClient() as client:
            response = await client.get(location)
    assert response.status_code == 200
    return response.content


async def test_a_clip_waits_in_the_spool_while_the_local_store_is_gone(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    hub = await _start_camera_hub(tmp_path, start_hub, rtsp_server)
    root = hub.parts.settings.storage.local_path
    assert root is not None
    shutil.rmtree(root)

    event = await _clip_state(hub, "spooled")

    status = (await hub.client.get(f"{API}/status")).json()["storage"]
    assert status["available"] is False
    assert status["spool_files"] > 0
    assert (
        status["last_error"]
        == f"object store unavailable: local storage root {root} is missing (deleted or unmounted?)"
    )
    ready = await hub.client.get(f"{API}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["object_store"]["ok"] is False
    pending = await hub.client.get(f"{API}/events/{event['id']}/clip")
    assert pending.status_code == 409
    assert pending.headers["retry-after"] == "5"
    assert any(m.startswith(f"spool: {status['last_error']};") for m in caplog.messages)

    await hub.parts.store.start()
    hub.parts.uploader.wake()

    stored = await _clip_state(hub, "stored")
    assert stored["id"] == event["id"]
    data = await _download(hub, event["id"])
    assert len(data) == stored["clip"]["bytes"]
    assert hashlib.sha256(data).hexdigest() == stored["clip"]["sha256"]
    assert "spool: object store is back; uploading the backlog" in caplog.messages
    status = (await hub.client.get(f"{API}/status")).json()["storage"]
    assert (status["available"], status["last_error"]) == (True, "")
    assert (await hub.client.get(f"{API}/readyz")).status_code == 200


@pytest.mark.s3
async def test_a_clip_waits_in_the_spool_while_s3_is_down(
    tmp_path: Path,
    start_hub: StartHub,
    rtsp_server: StartRtsp,
    restartable_s3_server: SeaweedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    endpoint = restartable_s3_server.endpoint
    s3 = S3Settings(
        endpoint=endpoint.endpoint,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        bucket=f"outage-{uuid.uuid4().hex[:16]}",
    )
    restartable_s3_server.stop()
    hub = await _start_camera_hub(
        tmp_path, start_hub, rtsp_server, storage=StorageSettings(backend=StorageBackend.S3, s3=s3)
    )
    assert any(m.startswith("object store (s3) is unavailable:") for m in caplog.messages)

    event = await _clip_state(hub, "spooled")

    status = (await hub.client.get(f"{API}/status")).json()["storage"]
    assert (status["backend"], status["available"]) == ("s3", False)
    assert status["spool_files"] > 0
    assert status["last_error"].startswith("object store unavailable:")
    assert (await hub.client.get(f"{API}/readyz")).status_code == 503

    restartable_s3_server.start()
    await hub.parts.store.start()
    hub.parts.uploader.wake()

    stored = await _clip_state(hub, "stored")
    assert stored["id"] == event["id"]
    data = await _download(hub, event["id"])
    assert hashlib.sha256(data).hexdigest() == stored["clip"]["sha256"]
    assert (await hub.client.get(f"{API}/readyz")).status_code == 200
