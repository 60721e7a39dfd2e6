"""``hub serve`` SIGKILLed while clips wait in the spool for S3, then started again: every clip arrives.

The hub runs as a real child process with S3 stopped. Once clips are spooled and an event is
open, the whole process tree is SIGKILLed. S3 comes back, the hub starts again on the same data
directory and database: every clip spooled at the kill reaches the bucket exactly once (the bucket
keeps every version) with the row's checksum, its row becomes ``stored``, and the event the kill
left open is closed by recovery and ticketed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from sqlalchemy import select

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
from tests.fixtures.s3_audit import BucketAudit
from tests.fixtures.seaweed import SeaweedServer

MIN_CLIPS_SPOOLED = 2


class SpawnHub(Protocol):
    def __call__(self, config: dict[str, Any]) -> HubProcess: ...


@pytest.fixture
def spawn_hub(tmp_path: Path) -> Iterator[SpawnHub]:
    """``hub serve`` children on a free API port; all killed after the test, logs shown on failure."""
    started: list[HubProcess] = []

    def spawn(config: dict[str, Any]) -> HubProcess:
        port = closed_port()
        path = write_config(tmp_path / "hub.yaml", {**config, "api": {"host": "127.0.0.1", "port": port}})
        hub = HubProcess(path, log_path=tmp_path / "hub.log", base_url=f"http://127.0.0.1:{port}")
        started.append(hub)
        return hub

    yield spawn
    for hub in started:
        hub.terminate(timeout_s=10)
        # pytest shows a test's captured output only when it fails: the log is there then.
        sys.stderr.write(f"----- {hub.log_path} -----\n{hub.log_tail(200)}\n")


@pytest.fixture
def audit(restartable_s3_server: SeaweedServer) -> Iterator[BucketAudit]:
    """A fresh versioned bucket on the session's S3 server, read back by a client of its own."""
    audit = BucketAudit(restartable_s3_server.endpoint, f"killed-{uuid.uuid4().hex[:16]}")
    audit.create_versioned()
    yield audit
    audit.close()


def _config(tmp_path: Path, camera_url: str, server: SeaweedServer, bucket: str) -> dict[str, Any]:
    endpoint = server.endpoint
    return {
        "data_dir": str(tmp_path / "data"),
        "database_url": f"sqlite:///{tmp_path / 'db' / 'hub.db'}",
        "secret_key": HUB_SECRET,
        "log_level": "info",
        "storage": {
            "backend": "s3",
            "s3": {
                "endpoint": endpoint.endpoint,
                "access_key": endpoint.access_key,
                "secret_key": endpoint.secret_key,
                "bucket": bucket,
            },
        },
        "recording": FAST_RECORDING.model_dump(mode="json"),
        "motion": FAST_MOTION.model_dump(mode="json"),
        "ingest": {"isolation": "process"},  # so the kill has camera worker processes to take down
        "cameras": [{"id": "cam", "url": camera_url}],
    }


async def _events(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/events", params={"camera_id": "cam", "limit": 500})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _rows(database_url: str) -> list[Event]:
    """The events as the database holds them (read with no hub running)."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.scalars(select(Event).order_by(Event.started_at))).all())
    finally:
        await engine.dispose()


def _queued_keys(spool_dir: Path) -> set[str]:
    """The keys with an upload queue entry, read without touching the spool (no clean-up)."""
    return {json.loads(p.read_text())["key"] for p in (spool_dir / ".queue").glob("*.json")}


@pytest.mark.s3
async def test_every_spooled_clip_arrives_once_after_the_hub_was_killed(
    tmp_path: Path,
    rtsp_server: StartRtsp,
    restartable_s3_server: SeaweedServer,
    audit: BucketAudit,
    spawn_hub: SpawnHub,
) -> None:
    camera = await rtsp_server()
    config = _config(tmp_path, camera.url(SCENE_PATH), restartable_s3_server, audit.bucket)
    database_url = config["database_url"]
    spool_dir = tmp_path / "data" / "spool"
    await asyncio.to_thread(restartable_s3_server.stop)
    hub = spawn_hub(config)
    hub.start()
    await hub.wait_ready()

    async with httpx.AsyncClient(base_url=hub.base_url, timeout=5.0) as client:
        # Kill while an event is open (not while one is being closed and its clip queued).
        async def spooled_and_one_open() -> bool:
            events = await _events(client)
            spooled = [e for e in events if e["clip"]["state"] == "spooled"]
            return len(spooled) >= MIN_CLIPS_SPOOLED and any(e["state"] == "open" for e in events)

        await wait_until(spooled_and_one_open, timeout_s=60, what=f"{MIN_CLIPS_SPOOLED} clips spooled")
        storage = (await client.get(f"{API}/status")).json()["storage"]
        assert storage["available"] is False
    killed = await asyncio.to_thread(hub.kill)
    assert len(killed) >= 2, f"only {killed} killed: where is the camera worker?"
    assert hub.survivors() == []

    # What the killed hub left: rows that say "spooled", each with its file and queue entry.
    before = await _rows(database_url)
    spooled = [e for e in before if e.clip_state is MediaState.SPOOLED]
    left_open = [e for e in before if e.state is EventState.OPEN]
    assert len(spooled) >= MIN_CLIPS_SPOOLED
    assert left_open
    queued = _queued_keys(spool_dir)
    for event in spooled:
        assert event.clip_key in queued, f"clip {event.clip_key} is spooled but not queued"
        assert event.snapshot_key in queued and event.thumbnail_key in queued, event.id
        assert event.clip_key is not None
        assert (spool_dir / event.clip_key).stat().st_size == event.clip_bytes

    await asyncio.to_thread(restartable_s3_server.start)
    hub.start()
    await hub.wait_ready()
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=5.0) as client:

        async def spooled_ones_stored() -> bool:
            by_id = {e["id"]: e for e in await _events(client)}
            return all(
                by_id[e.id]["clip"]["state"] == "stored" and by_id[e.id]["snapshot_state"] == "stored"
                for e in spooled
            )

        await wait_until(spooled_ones_stored, timeout_s=60, what="the clips spooled at the kill stored")
        history = await asyncio.to_thread(audit.history)
        for event in spooled:
            assert event.clip_key and event.snapshot_key and event.thumbnail_key
            for key in (event.clip_key, event.snapshot_key, event.thumbnail_key):
                assert history.versions[key] == 1, f"{key} written {history.versions[key]} time(s)"
            clip = await asyncio.to_thread(audit.read, event.clip_key)
            assert clip.metadata["sha256"] == event.clip_sha256 == clip.sha256
            assert (len(clip.data), clip.metadata["event"]) == (event.clip_bytes, event.id)
        assert history.written_more_than_once() == {}
        assert not history.delete_markers

        for event in left_open:
            recovered = (await client.get(f"{API}/events/{event.id}")).json()
            assert (recovered["state"], recovered["clip"]["state"]) == ("closed", "failed")
            assert recovered["ended_at"] == recovered["started_at"]
            assert recovered["details"]["closed_by"] == "recovery after an unclean stop"
        for event in [*spooled, *left_open]:
            tickets = (await client.get(f"{API}/tickets", params={"event_id": event.id})).json()
            assert tickets["total"] == 1, event.id

    log = hub.log_path.read_text(errors="replace")
    assert f"recovered {len(left_open)} event(s) left open by an unclean stop" in log
    assert f"spool: {len(queued)} file(s) from an earlier run wait for upload" in log
