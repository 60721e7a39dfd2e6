"""The grid system fails or is down: tickets stay pending with the reason, then arrive exactly once."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from hub.db.models import EventState
from hub.tickets.payload import ticket_id_for
from hub.tickets.receiver import GridReceiver
from tests.fixtures.hub import API, RunningHub, StartHub, add_camera, add_event, make_settings, wait_until


async def _close_new_event(hub: RunningHub) -> str:
    """An event closes with no clip: its ticket is enqueued and the deliverer woken."""
    await add_camera(hub.parts.sessions, "cam-1")
    event_id = await add_event(hub.parts.sessions, state=EventState.OPEN)
    await hub.parts.events.close(event_id, time.time(), snapshot=None, score=0.7)
    return event_id


async def _ticket(hub: RunningHub, event_id: str) -> dict[str, Any]:
    response = await hub.client.get(f"{API}/tickets", params={"event_id": event_id})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    assert len(items) == 1
    return items[0]


async def test_a_ticket_refused_twice_is_delivered_on_the_third_attempt(
    tmp_path: Path, grid_receiver: GridReceiver, start_hub: StartHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.tickets")
    grid_receiver.fail_next(2, status=500)
    hub = await start_hub(make_settings(tmp_path, webhook_url=grid_receiver.url))

    event_id = await _close_new_event(hub)

    async def delivered() -> bool:
        return bool((await _ticket(hub, event_id))["state"] == "delivered")

    await wait_until(delivered, timeout_s=10, what="the ticket to be delivered")
    ticket = await _ticket(hub, event_id)
    assert (ticket["id"], ticket["attempts"], ticket["last_status_code"]) == (ticket_id_for(event_id), 3, 200)
    assert ticket["delivered_at"] is not None
    assert grid_receiver.state.requests == 3
    assert [t.idempotency_key for t in grid_receiver.tickets] == [ticket["id"]]
    assert grid_receiver.tickets[0].payload["event"]["id"] == event_id
    failures = [r.getMessage() for r in caplog.records if "webhook answered 500" in r.getMessage()]
    assert len(failures) == 2
    assert failures[0].startswith(
        f"ticket {ticket['id']} for event {event_id}: webhook answered 500, retry in"
    )
    assert f"ticket {ticket['id']} for event {event_id}: delivered (attempt 3)" in caplog.messages


async def test_a_ticket_waits_while_the_receiver_is_down_then_arrives_once(
    tmp_path: Path, grid_receiver: GridReceiver, start_hub: StartHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.tickets")
    url = grid_receiver.url
    await grid_receiver.stop()
    hub = await start_hub(make_settings(tmp_path, webhook_url=url))

    event_id = await _close_new_event(hub)

    async def failed_twice() -> bool:
        return bool((await _ticket(hub, event_id))["attempts"] >= 2)

    await wait_until(failed_twice, timeout_s=10, what="two failed delivery attempts")
    ticket = await _ticket(hub, event_id)
    assert ticket["state"] == "pending"
    assert ticket["last_error"].startswith("webhook connection failed: ConnectError")
    assert ticket["last_status_code"] is None
    status = (await hub.client.get(f"{API}/status")).json()["tickets"]
    assert status["configured"] is True
    assert status["pending"] == 1
    assert status["last_error"].startswith("webhook connection failed: ConnectError")
    assert any(
        m.startswith(f"ticket {ticket['id']} for event {event_id}: webhook connection failed")
        for m in caplog.messages
    )

    await grid_receiver.start()

    async def delivered() -> bool:
        return bool((await _ticket(hub, event_id))["state"] == "delivered")

    await wait_until(delivered, timeout_s=10, what="the ticket to be delivered after the receiver is back")
    ticket = await _ticket(hub, event_id)
    assert ticket["last_error"] == ""
    assert [t.idempotency_key for t in grid_receiver.tickets] == [ticket["id"]]
    assert grid_receiver.state.requests == 1
    assert (await hub.client.get(f"{API}/status")).json()["tickets"]["pending"] == 0
