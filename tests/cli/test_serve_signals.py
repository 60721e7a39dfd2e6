"""``hub serve`` stopped by SIGTERM or Ctrl-C stops in order: open events end with their clips
written, the camera workers exit, and the process exits 0."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from hub.db.engine import create_engine, session_factory
from hub.db.models import Event, EventState, MediaState
from tests.fixtures.hub import (
    API,
    FAST_MOTION,
    FAST_RECORDING,
    HUB_SECRET,
    SCENE_PATH,
    StartRtsp,
    closed_port,
    wait_until,
)
from tests.fixtures.hub_process import HubProcess, write_config


@pytest.fixture
def hub_process(tmp_path: Path) -> Iterator[HubProcess]:
    port = closed_port()
    config = {
        "data_dir": str(tmp_path / "data"),
        "secret_key": HUB_SECRET,
        "log_level": "info",
        "recording": FAST_RECORDING.model_dump(mode="json"),
        "motion": FAST_MOTION.model_dump(mode="json"),
        "api": {"host": "127.0.0.1", "port": port},
    }
    path = write_config(tmp_path / "hub.yaml", config)
    hub = HubProcess(path, log_path=tmp_path / "hub.log", base_url=f"http://127.0.0.1:{port}")
    yield hub
    hub.kill()
    sys.stderr.write(f"----- {hub.log_path} -----\n{hub.log_tail(100)}\n")


def _config(hub: HubProcess) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(hub.config.read_text())
    return config


def _with_camera(hub: HubProcess, url: str) -> None:
    write_config(hub.config, {**_config(hub), "cameras": [{"id": "cam", "url": url}]})


async def test_sigterm_ends_the_open_event_with_its_clip_and_exits_0(
    hub_process: HubProcess, rtsp_server: StartRtsp
) -> None:
    camera = await rtsp_server()
    _with_camera(hub_process, camera.url(SCENE_PATH))
    hub_process.start()
    await hub_process.wait_ready()
    async with httpx.AsyncClient(base_url=hub_process.base_url, timeout=5.0) as client:
        opened: list[dict[str, Any]] = []

        async def recording() -> bool:
            items = (await client.get(f"{API}/events", params={"camera_id": "cam"})).json()["items"]
            opened[:] = [e for e in items if e["state"] == "open" and e["clip"]["state"] == "recording"]
            return bool(opened)

        await wait_until(recording, timeout_s=30, what="an event being recorded")
        workers = [pid for pid in hub_process.survivors() if pid != hub_process.pid]
        assert workers, "no camera worker process"

        assert hub_process.terminate(timeout_s=30) == 0

    log = hub_process.log_path.read_text()
    assert "SIGTERM received: stopping" in log
    assert "hub stopped" in log
    assert hub_process.survivors() == []
    event = await _event(f"sqlite+aiosqlite:///{_config(hub_process)['data_dir']}/hub.db", opened[0]["id"])
    assert event.state == EventState.CLOSED
    assert event.clip_state in (MediaState.SPOOLED, MediaState.STORED)
    assert event.clip_frames is not None and event.clip_frames > 0
    assert "closed_by" not in event.details  # ended in order, not by crash recovery


async def _event(database_url: str, event_id: str) -> Event:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            event = await session.get(Event, event_id)
    finally:
        await engine.dispose()
    assert event is not None
    return event


async def test_ctrl_c_stops_in_order_and_exits_0(hub_process: HubProcess) -> None:
    hub_process.start()
    await hub_process.wait_ready()
    assert hub_process.pid is not None
    hub_process.send_signal(signal.SIGINT)
    assert hub_process.wait(timeout_s=30) == 0
    log = hub_process.log_path.read_text()
    assert "SIGINT received: stopping" in log
    assert "hub stopped" in log
