"""Each camera records in a worker process: a killed or hung worker costs one camera a restart,
never an event, and the hub's own process keeps serving."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from hub.config.camera import CameraConfig
from hub.config.hub import HubSettings
from hub.config.ingest import IngestSettings, WorkerIsolation
from hub.ingest.camera_worker import WorkerSettings
from hub.ingest.messages import Outcome, StopCommand, WorkerFinished
from hub.ingest.worker_main import EXIT_HOST_GONE
from hub.ingest.worker_process import ProcessLink
from tests.fixtures.hub import (
    API,
    FAST_MOTION,
    FAST_RECORDING,
    SCENE_PATH,
    RunningHub,
    StartHub,
    StartRtsp,
    closed_port,
    make_settings,
    wait_until,
)


def _settings(tmp_path: Path, url: str, **ingest: Any) -> HubSettings:
    settings = make_settings(
        tmp_path, cameras=[CameraConfig(id="cam", url=url)], recording=FAST_RECORDING, motion=FAST_MOTION
    )
    return settings.model_copy(update={"ingest": IngestSettings(**ingest)})


async def _events(hub: RunningHub) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await hub.client.get(f"{API}/events", params={"camera_id": "cam"})).json()[
        "items"
    ]
    return items


async def _stored_clip(hub: RunningHub, *, after: str | None = None) -> dict[str, Any]:
    """The first event (started after the event ``after``, if given) whose clip is stored."""
    found: list[dict[str, Any]] = []

    async def stored() -> bool:
        events = await _events(hub)
        if after is not None:
            floor = next(e["started_at"] for e in events if e["id"] == after)
            events = [e for e in events if e["started_at"] > floor]
        found[:] = [e for e in events if e["kind"] == "motion" and e["clip"]["state"] == "stored"]
        return bool(found)

    await wait_until(stored, timeout_s=30, what="an event with a stored clip")
    return found[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _worker_pid(hub: RunningHub, *, other_than: int | None = None) -> int:
    pids: list[int] = []

    async def started() -> bool:
        pid = hub.parts.supervisor.pipelines["cam"].worker_pid
        pids[:] = [pid] if pid is not None and pid != other_than else []
        return bool(pids)

    await wait_until(started, timeout_s=15, what="a camera worker process")
    return pids[0]


async def test_each_camera_records_in_its_own_process_and_its_logs_reach_the_hub(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    server = await rtsp_server()
    hub = await start_hub(_settings(tmp_path, server.url(SCENE_PATH)))
    pid = await _worker_pid(hub)
    assert pid != os.getpid()

    event = await _stored_clip(hub)

    written = [r for r in caplog.records if r.name == "hub.ingest.camera_worker" and "clip" in r.getMessage()]
    assert [r.getMessage() for r in written][:1] == [
        f"cam: clip {event['clip']['key']} written ({event['clip']['duration_s']:.1f} s, "
        f"{event['clip']['frames']} frames)"
    ]
    live = (await hub.client.get(f"{API}/cameras/cam")).json()["live"]
    assert live["packets"] > 0
    assert live["ring_starts_on_keyframe"] is True
    assert 0 < live["ring_seconds"] <= FAST_RECORDING.ring_buffer_s + 1.5  # trimmed a GOP at a time

    await hub.runtime.stop()
    assert not _alive(pid), "the camera worker outlived the hub"


async def test_a_killed_worker_fails_its_open_clip_and_the_camera_comes_back(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp
) -> None:
    server = await rtsp_server()
    hub = await start_hub(_settings(tmp_path, server.url(SCENE_PATH), reconnect_initial_s=0.2))
    pid = await _worker_pid(hub)
    opened: list[dict[str, Any]] = []

    async def recording() -> bool:
        opened[:] = [
            e for e in await _events(hub) if e["state"] == "open" and e["clip"]["state"] == "recording"
        ]
        return bool(opened)

    await wait_until(recording, timeout_s=20, what="an event being recorded")
    os.kill(pid, signal.SIGKILL)

    async def settled() -> bool:
        event = (await hub.client.get(f"{API}/events/{opened[0]['id']}")).json()
        return bool(event["state"] == "closed" and event["clip"]["state"] == "failed")

    await wait_until(settled, timeout_s=10, what="the killed worker's event to be closed")
    event = (await hub.client.get(f"{API}/events/{opened[0]['id']}")).json()
    assert event["details"]["clip_error"] == "camera worker died (killed by SIGKILL)"
    tickets = (await hub.client.get(f"{API}/tickets", params={"event_id": event["id"]})).json()
    assert tickets["total"] == 1  # the event still reaches the grid system

    new_pid = await _worker_pid(hub, other_than=pid)
    assert _alive(new_pid)
    later = await _stored_clip(hub, after=event["id"])
    assert later["clip"]["frames"] > 0
    camera = (await hub.client.get(f"{API}/cameras/cam")).json()
    assert camera["status"] == "online"


async def test_a_hung_worker_is_killed_and_replaced(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    server = await rtsp_server()
    settings = _settings(tmp_path, server.url(SCENE_PATH), worker_timeout_s=2, reconnect_initial_s=0.2)
    hub = await start_hub(settings)
    pid = await _worker_pid(hub)
    await wait_until(
        lambda: _status_is(hub, "online"), timeout_s=15, what="the camera to come online before the hang"
    )
    os.kill(pid, signal.SIGSTOP)  # alive but silent: a decoder stuck in a C call looks like this

    new_pid = await _worker_pid(hub, other_than=pid)
    assert not _alive(pid)
    assert "cam: camera worker silent for 2 s; restarting it" in caplog.messages
    assert _alive(new_pid)
    await wait_until(lambda: _status_is(hub, "online"), timeout_s=15, what="the camera back online")


async def _status_is(hub: RunningHub, status: str) -> bool:
    return bool((await hub.client.get(f"{API}/cameras/cam")).json()["status"] == status)


async def test_thread_isolation_records_in_the_hub_process(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp
) -> None:
    server = await rtsp_server()
    hub = await start_hub(_settings(tmp_path, server.url(SCENE_PATH), isolation=WorkerIsolation.THREAD))
    event = await _stored_clip(hub)
    assert event["clip"]["frames"] > 0
    assert hub.parts.supervisor.pipelines["cam"].worker_pid is None


def _spec(tmp_path: Path, url: str) -> WorkerSettings:
    settings = _settings(tmp_path, url, open_timeout_s=1)
    assert settings.storage.spool_dir is not None
    return WorkerSettings(
        settings.cameras[0], settings.recording, settings.motion, settings.ingest, settings.storage.spool_dir
    )


async def test_an_unreachable_camera_ends_its_worker_with_the_reason(tmp_path: Path) -> None:
    link = ProcessLink(_spec(tmp_path, f"rtsp://127.0.0.1:{closed_port()}/cam"))
    await link.start()
    try:
        messages = []
        while (message := await asyncio.wait_for(link.receive(), timeout=15)) is not None:
            messages.append(message)
            if isinstance(message, WorkerFinished):
                break
        finished = messages[-1]
        assert isinstance(finished, WorkerFinished)
        assert finished.outcome is Outcome.OFFLINE
        assert "127.0.0.1" in finished.reason
    finally:
        await link.close()
    assert link.exit_description() == "exit code 0"


async def test_a_worker_whose_hub_vanished_exits_at_once(tmp_path: Path, rtsp_server: StartRtsp) -> None:
    server = await rtsp_server()
    link = ProcessLink(_spec(tmp_path, server.url(SCENE_PATH)))
    await link.start()
    assert await asyncio.wait_for(link.receive(), timeout=15) is not None  # it is up and reporting
    assert link._process is not None
    writer = link._process._writer
    assert writer is not None
    writer.transport.abort()  # what the kernel does to the socket when the hub is SIGKILLed
    link.send(StopCommand())  # dropped: the channel is gone
    while await asyncio.wait_for(link.receive(), timeout=15) is not None:
        pass  # what it had sent before; then the end of the channel
    await link.close()
    assert link.exit_description() == f"exit code {EXIT_HOST_GONE}"


async def test_cameras_sharing_a_process_record_and_restart_together(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp
) -> None:
    server = await rtsp_server()
    cameras = [CameraConfig(id=f"cam-{i}", url=server.url(SCENE_PATH)) for i in (1, 2)]
    settings = make_settings(tmp_path, cameras=cameras, recording=FAST_RECORDING, motion=FAST_MOTION)
    settings = settings.model_copy(
        update={"ingest": IngestSettings(cameras_per_process=2, reconnect_initial_s=0.2)}
    )
    hub = await start_hub(settings)
    pipelines = hub.parts.supervisor.pipelines

    async def one_process() -> bool:
        pids = {pipelines[c.id].worker_pid for c in cameras}
        return len(pids) == 1 and None not in pids

    await wait_until(one_process, timeout_s=15, what="both cameras in one worker process")
    shared = pipelines["cam-1"].worker_pid
    assert shared is not None and shared != os.getpid()

    async def both_recorded() -> bool:
        items = (await hub.client.get(f"{API}/events")).json()["items"]
        return {e["camera_id"] for e in items if e["clip"]["state"] == "stored"} == {"cam-1", "cam-2"}

    await wait_until(both_recorded, timeout_s=30, what="a stored clip from each camera")
    os.kill(shared, signal.SIGKILL)

    async def moved() -> bool:
        pids = {pipelines[c.id].worker_pid for c in cameras}
        return None not in pids and shared not in pids

    await wait_until(moved, timeout_s=20, what="both cameras in a new worker process")
    for camera in cameras:
        online = functools.partial(_online, hub, camera.id)
        await wait_until(online, timeout_s=20, what=f"{camera.id} back online")


async def _online(hub: RunningHub, camera_id: str) -> bool:
    return bool((await hub.client.get(f"{API}/cameras/{camera_id}")).json()["status"] == "online")
