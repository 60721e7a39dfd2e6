"""A database hiccup on the event path delays an event; it never loses it or stops analysis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from hub.config.camera import CameraConfig
from hub.events.retry import until_written
from hub.tickets.receiver import GridReceiver
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


def outage(times: int) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Wrap an async method so its first ``times`` calls fail as a dropped connection does."""

    def wrap(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        calls = {"n": 0}

        async def flaky(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] <= times:
                raise OperationalError("INSERT INTO events", {}, ConnectionResetError("server closed"))
            return await method(*args, **kwargs)

        return flaky

    return wrap


async def test_until_written_retries_then_returns_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hub.events.retry")

    async def ok() -> str:
        return "written"

    result = await until_written(outage(3)(ok), what="cam-1: recording x", initial_s=0.01)

    assert result == "written"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage().startswith("cam-1: recording x failed (")
    assert caplog.messages[-1] == "cam-1: recording x succeeded after the database came back"


async def test_until_written_is_cancellable() -> None:
    async def never() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError())

    task = asyncio.create_task(until_written(never, what="x", initial_s=0.01))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_event_survives_database_errors_at_start_and_end(
    tmp_path: Path, start_hub: StartHub, rtsp_server: StartRtsp, grid_receiver: GridReceiver
) -> None:
    camera = await rtsp_server()
    settings = make_settings(
        tmp_path,
        cameras=[CameraConfig(id="yard", url=camera.url(SCENE_PATH))],
        webhook_url=grid_receiver.url,
        recording=FAST_RECORDING,
        motion=FAST_MOTION,
    )
    hub = await start_hub(settings)
    store: Any = hub.parts.events
    store.open = outage(2)(store.open)
    store.close = outage(2)(store.close)
    store.attach_clip = outage(1)(store.attach_clip)

    async def motion_ticket() -> bool:
        return any(t.payload["event"]["kind"] == "motion" for t in grid_receiver.tickets)

    await wait_until(motion_ticket, timeout_s=40, what="a motion ticket despite the outage")
    ticket = next(t.payload for t in grid_receiver.tickets if t.payload["event"]["kind"] == "motion")
    assert ticket["event"]["clip"] is not None
    event = (await hub.client.get(f"{API}/events/{ticket['event']['id']}")).json()
    assert event["state"] == "closed"
    assert event["clip"]["state"] in ("spooled", "stored")
    # Analysis kept going: later motion still opens events.
    live = (await hub.client.get(f"{API}/cameras/yard")).json()["live"]
    frames_then = live["frames_analysed"]

    async def still_analysing() -> bool:
        now = (await hub.client.get(f"{API}/cameras/yard")).json()["live"]["frames_analysed"]
        return bool(now > frames_then)

    await wait_until(still_analysing, timeout_s=5, what="analysis to continue")
