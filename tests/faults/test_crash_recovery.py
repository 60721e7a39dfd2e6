"""After an unclean stop: events left open are closed, unfinished clips marked failed, tickets raised."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hub.db import migrate
from hub.db.engine import create_engine, session_factory
from hub.db.models import EventState, MediaState
from tests.fixtures.hub import API, StartHub, add_camera, add_event, make_settings


async def test_an_event_left_recording_is_closed_failed_and_ticketed(
    tmp_path: Path, database_url: str, start_hub: StartHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.events")
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        await add_camera(sessions, "cam-1")
        event_id = await add_event(sessions, state=EventState.OPEN, clip_state=MediaState.RECORDING)
        settled_id = await add_event(sessions, state=EventState.CLOSED, clip_state=MediaState.NONE)
    finally:
        await engine.dispose()

    hub = await start_hub(make_settings(tmp_path, database_url=database_url))

    event = (await hub.client.get(f"{API}/events/{event_id}")).json()
    assert event["state"] == "closed"
    assert event["ended_at"] == event["started_at"]
    assert event["clip"]["state"] == "failed"
    assert event["details"] == {
        "closed_by": "recovery after an unclean stop",
        "clip_error": "the hub stopped while recording",
    }
    clip = await hub.client.get(f"{API}/events/{event_id}/clip")
    assert clip.status_code == 404
    tickets = (await hub.client.get(f"{API}/tickets", params={"event_id": event_id})).json()
    assert tickets["total"] == 1
    ticket = tickets["items"][0]
    assert (ticket["state"], ticket["attempts"]) == ("pending", 0)
    assert ticket["payload"]["event"]["id"] == event_id
    assert ticket["payload"]["event"]["camera_id"] == "cam-1"
    # An event that was already closed and settled before the crash is left alone.
    untouched = (await hub.client.get(f"{API}/events/{settled_id}")).json()
    assert (untouched["state"], untouched["details"]) == ("closed", {})
    assert "recovered 1 event(s) left open by an unclean stop" in caplog.messages
