"""S3 stopped for a real 30 s while the camera keeps raising events, then started again.

Every event gets exactly one clip, snapshot and thumbnail; each object reaches the bucket exactly
once (the bucket keeps every version, so a second upload would show) with the checksum of the row;
every event gets exactly one ticket; the spool ends empty; readiness is 503 while S3 is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.config.camera import CameraConfig
from hub.config.storage import S3Settings, StorageBackend, StorageSettings
from hub.db.models import Event, EventState, MediaState, Ticket, TicketState
from hub.tickets.receiver import GridReceiver
from storage.base import ObjectInfo, ObjectStore
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
from tests.fixtures.s3_audit import BucketAudit
from tests.fixtures.seaweed import SeaweedServer

OUTAGE_S = 30.0
# The scene raises one event per 6 s loop, so about 5 end during the outage; 3 leaves room for
# a slow machine while still proving that several clips waited together.
MIN_CLIPS_WAITING = 3


@pytest.fixture
def audit(restartable_s3_server: SeaweedServer) -> Iterator[BucketAudit]:
    """A fresh versioned bucket on the session's S3 server, read back by a client of its own."""
    audit = BucketAudit(restartable_s3_server.endpoint, f"stopped-{uuid.uuid4().hex[:16]}")
    audit.create_versioned()
    yield audit
    audit.close()


def _count_puts(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Successful uploads per key as the hub made them (the bucket's versions are checked too)."""
    puts: Counter[str] = Counter()
    real_put = store.put

    async def put(
        key: str, data: bytes | Path, *, content_type: str, metadata: dict[str, str] | None = None
    ) -> ObjectInfo:
        info = await real_put(key, data, content_type=content_type, metadata=metadata)
        puts[key] += 1
        return info

    monkeypatch.setattr(store, "put", put)
    return puts


async def _events(hub: RunningHub) -> list[dict[str, Any]]:
    response = await hub.client.get(f"{API}/events", params={"camera_id": "cam", "limit": 500})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _storage_status(hub: RunningHub) -> dict[str, Any]:
    response = await hub.client.get(f"{API}/status")
    assert response.status_code == 200
    storage: dict[str, Any] = response.json()["storage"]
    return storage


async def _all_settled(hub: RunningHub) -> bool:
    """Every event closed with its media stored, nothing in the spool, every ticket delivered."""
    events = await _events(hub)
    settled = all(
        e["state"] == "closed" and e["clip"]["state"] == "stored" and e["snapshot_state"] == "stored"
        for e in events
    )
    tickets = (await hub.client.get(f"{API}/tickets", params={"state": "pending"})).json()
    return settled and tickets["total"] == 0 and (await _storage_status(hub))["spool_files"] == 0


def _media_keys(events: Sequence[Event]) -> set[str]:
    keys = set()
    for event in events:
        assert event.clip_key and event.snapshot_key and event.thumbnail_key, event.id
        keys |= {event.clip_key, event.snapshot_key, event.thumbnail_key}
    return keys


@pytest.mark.s3
async def test_every_clip_arrives_once_after_s3_was_stopped_for_30_s(
    tmp_path: Path,
    grid_receiver: GridReceiver,
    start_hub: StartHub,
    rtsp_server: StartRtsp,
    restartable_s3_server: SeaweedServer,
    audit: BucketAudit,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    endpoint = restartable_s3_server.endpoint
    server = await rtsp_server()
    s3 = S3Settings(
        endpoint=endpoint.endpoint,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        bucket=audit.bucket,
    )
    settings = make_settings(
        tmp_path,
        cameras=[CameraConfig(id="cam", url=server.url(SCENE_PATH))],
        webhook_url=grid_receiver.url,
        storage=StorageSettings(backend=StorageBackend.S3, s3=s3),
        recording=FAST_RECORDING,
        motion=FAST_MOTION,
    )
    hub = await start_hub(settings)
    puts = _count_puts(hub.parts.store, monkeypatch)

    # Before: an event's media reaches S3 and nothing waits, so no upload is cut by the stop.
    async def one_stored_and_spool_empty() -> bool:
        stored = [e for e in await _events(hub) if e["clip"]["state"] == "stored"]
        return bool(stored) and (await _storage_status(hub))["spool_files"] == 0

    await wait_until(one_stored_and_spool_empty, timeout_s=30, what="a first clip stored, spool empty")
    assert (await hub.client.get(f"{API}/readyz")).status_code == 200

    await asyncio.to_thread(restartable_s3_server.stop)
    stopped_at = time.monotonic()
    ready_codes: list[int] = []
    available: list[bool] = []
    while time.monotonic() - stopped_at < OUTAGE_S:
        ready_codes.append((await hub.client.get(f"{API}/readyz")).status_code)
        available.append((await _storage_status(hub))["available"])
        await asyncio.sleep(1.0)
    waiting = [e for e in await _events(hub) if e["clip"]["state"] == "spooled"]
    status_before_restart = await _storage_status(hub)
    await asyncio.to_thread(restartable_s3_server.start)

    assert set(ready_codes) == {503}
    assert available[-1] is False
    assert len(waiting) >= MIN_CLIPS_WAITING, f"only {len(waiting)} clip(s) waited during the outage"
    assert status_before_restart["spool_files"] >= 3 * len(waiting)  # clip, snapshot, thumbnail each
    assert status_before_restart["last_error"].startswith("object store unavailable:")

    # After: the hub finds S3 back by itself (no nudge from the test) and uploads the backlog.
    async def backlog_uploaded() -> bool:
        status = await _storage_status(hub)
        stored = {e["id"] for e in await _events(hub) if e["clip"]["state"] == "stored"}
        return status["available"] and {e["id"] for e in waiting} <= stored

    await wait_until(backlog_uploaded, timeout_s=60, what="the backlog uploaded after S3 came back")
    # Stop the camera so the set of events is final: open events end, the clip in progress is written.
    await hub.parts.supervisor.stop()
    await wait_until(lambda: _all_settled(hub), timeout_s=30, what="every event settled, spool empty")

    async with hub.parts.sessions() as session:
        events = (await session.scalars(select(Event).order_by(Event.started_at))).all()
        tickets = (await session.scalars(select(Ticket))).all()
    assert len(events) >= 1 + len(waiting)
    assert {e.kind for e in events} == {"motion"}
    for event in events:
        assert (event.state, event.clip_state, event.snapshot_state) == (
            EventState.CLOSED,
            MediaState.STORED,
            MediaState.STORED,
        ), event.id
    # Events are 6 s apart, far over merge_gap_s: each has a clip of its own.
    clip_keys = [e.clip_key for e in events]
    assert len(set(clip_keys)) == len(events)

    expected = _media_keys(events)
    history = await asyncio.to_thread(audit.history)
    assert history.keys == expected  # nothing missing, nothing extra (no second clip of an event)
    assert history.written_more_than_once() == {}
    assert not history.delete_markers
    assert puts == Counter(dict.fromkeys(expected, 1))
    for event in events:
        assert event.clip_key is not None
        clip = await asyncio.to_thread(audit.read, event.clip_key)
        assert clip.content_type == "video/mp4"
        assert (clip.metadata["event"], clip.metadata["camera"]) == (event.id, "cam")
        assert clip.metadata["sha256"] == event.clip_sha256 == clip.sha256
        assert len(clip.data) == event.clip_bytes
        for key in (event.snapshot_key, event.thumbnail_key):
            assert key is not None
            image = await asyncio.to_thread(audit.read, key)
            assert (image.content_type, image.metadata["event"]) == ("image/jpeg", event.id)
            assert image.data.startswith(b"\xff\xd8\xff")  # a JPEG

    assert sorted(t.event_id for t in tickets) == sorted(e.id for e in events)
    assert {t.state for t in tickets} == {TicketState.DELIVERED}
    received = Counter(t.payload["event"]["id"] for t in grid_receiver.tickets)
    assert received == Counter(dict.fromkeys((e.id for e in events), 1))
    sha_by_event = {e.id: e.clip_sha256 for e in events}
    for ticket in grid_receiver.tickets:
        event_payload = ticket.payload["event"]
        assert event_payload["clip"]["sha256"] == sha_by_event[event_payload["id"]]

    spool = hub.parts.spool
    assert spool.pending() == []
    assert [p for p in spool.root.rglob("*") if p.is_file()] == []
    status = await _storage_status(hub)
    assert (status["available"], status["last_error"], status["spool_files"]) == (True, "", 0)
    assert (await hub.client.get(f"{API}/readyz")).status_code == 200
    assert "spool: object store is back; uploading the backlog" in caplog.messages

    # The orderly stop's last upload pass finds nothing left and puts nothing a second time.
    await hub.runtime.stop()
    assert (await asyncio.to_thread(audit.history)).versions == history.versions
    assert puts == Counter(dict.fromkeys(expected, 1))
