"""The sweeper with kept events, locked objects and the storage quota, on the local store and on
S3 (a SeaweedFS bucket with Object Lock), with a real SQLite database."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config.retention import RetentionSettings
from hub.db.engine import create_engine, session_factory
from hub.db.migrate import upgrade
from hub.db.models import Camera, Event, EventState, MediaState, Segment, Ticket, TicketState
from hub.retention.policy import ExpiryPlan, expired_media
from hub.retention.rows import event_facts
from hub.retention.sweeper import RetentionSweeper, retention_status
from storage.base import ObjectLock, ObjectStore
from storage.local import LocalObjectStore
from storage.s3 import S3ObjectStore
from tests.fixtures.seaweed import S3Endpoint

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MIB = 1024 * 1024
EVENT_BYTES = 3 * MIB  # clip 2 MiB + snapshot 0.75 MiB + thumbnail 0.25 MiB, as the rows say


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        factory = session_factory(engine)
        async with factory.begin() as session:
            session.add(Camera(id="cam", name="cam", main_url="rtsp://127.0.0.1/cam"))
        yield factory
    finally:
        await engine.dispose()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    backend: ObjectStore
    if request.param == "local":
        backend = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    else:
        endpoint: S3Endpoint = request.getfixturevalue("s3_server")
        backend = S3ObjectStore(
            endpoint=endpoint.endpoint,
            access_key=endpoint.access_key,
            secret_key=endpoint.secret_key,
            bucket=f"quota-{uuid.uuid4().hex[:20]}",
            object_lock=True,
        )
    await backend.start()
    yield backend
    await backend.close()


def keys(event_id: str) -> dict[str, str]:
    return {
        "clip_key": f"clips/cam/2026/01/01/{event_id}.mp4",
        "snapshot_key": f"snapshots/cam/2026/01/01/{event_id}.jpg",
        "thumbnail_key": f"thumbnails/cam/2026/01/01/{event_id}.jpg",
    }


async def add_event(
    sessions: Sessions,
    store: ObjectStore,
    event_id: str,
    *,
    minute: int = 0,
    kept: bool = False,
    ticket: TicketState = TicketState.DELIVERED,
) -> None:
    """A closed event with its three objects stored; sizes (EVENT_BYTES) as the rows record them."""
    started = T0 + timedelta(minutes=minute)
    async with sessions.begin() as session:
        session.add(
            Event(
                id=event_id,
                camera_id="cam",
                kind="motion",
                severity="yellow",
                state=EventState.CLOSED,
                started_at=started,
                ended_at=started + timedelta(seconds=10),
                clip_state=MediaState.STORED,
                snapshot_state=MediaState.STORED,
                clip_bytes=2 * MIB,
                snapshot_bytes=3 * MIB // 4,
                thumbnail_bytes=MIB // 4,
                keep_at=T0 if kept else None,
                keep_by="li" if kept else None,
                keep_reason="case 7" if kept else None,
                **keys(event_id),
            )
        )
        await session.flush()
        session.add(Ticket(event_id=event_id, payload={}, state=ticket))
    for key in keys(event_id).values():
        await store.put(key, key.encode(), content_type="application/octet-stream")


async def add_segment(
    sessions: Sessions, store: ObjectStore, name: str, *, hour: int, size: int = MIB
) -> str:
    key = f"segments/cam/2026/01/01/{name}.mp4"
    start = T0 + timedelta(hours=hour)
    async with sessions.begin() as session:
        session.add(
            Segment(
                camera_id="cam",
                key=key,
                start_at=start,
                end_at=start + timedelta(minutes=1),
                duration_s=60.0,
                frames=600,
                bytes=size,
                codec="h264",
                width=320,
                height=180,
                sha256="0" * 64,
                state=MediaState.STORED,
            )
        )
    await store.put(key, b"segment", content_type="video/mp4")
    return key


async def object_keys(store: ObjectStore) -> set[str]:
    return {info.key for info in await store.list()}


async def media_states(sessions: Sessions) -> dict[str, tuple[MediaState, MediaState]]:
    async with sessions() as session:
        events = (await session.scalars(select(Event))).all()
    return {e.id: (e.clip_state, e.snapshot_state) for e in events}


async def segment_keys(sessions: Sessions) -> set[str]:
    async with sessions() as session:
        return set((await session.scalars(select(Segment.key))).all())


STORED = (MediaState.STORED, MediaState.STORED)
EXPIRED = (MediaState.EXPIRED, MediaState.EXPIRED)


async def test_a_kept_event_outlives_its_days(sessions: Sessions, store: ObjectStore) -> None:
    await add_event(sessions, store, "kept", kept=True)
    await add_event(sessions, store, "plain")
    sweeper = RetentionSweeper(sessions, store, RetentionSettings())

    report = await sweeper.sweep_once(T0 + timedelta(days=365))

    assert await media_states(sessions) == {"kept": STORED}
    assert await object_keys(store) == set(keys("kept").values())
    assert (report.objects_deleted, report.events_deleted, report.locked_skipped) == (3, 1, 0)


async def test_over_the_quota_segments_go_first_then_the_oldest_event_media(
    sessions: Sessions, store: ObjectStore
) -> None:
    segments = [await add_segment(sessions, store, f"s{hour}", hour=hour) for hour in range(3)]
    await add_event(sessions, store, "e1", minute=0, kept=True)
    await add_event(sessions, store, "e2", minute=1, ticket=TicketState.PENDING)
    await add_event(sessions, store, "e3", minute=2)
    await add_event(sessions, store, "e4", minute=3)
    total = 3 * MIB + 4 * EVENT_BYTES
    quota = total - 3 * MIB - MIB // 2  # the segments are not enough: one event's media must go too
    sweeper = RetentionSweeper(sessions, store, RetentionSettings(quota_bytes=quota, batch_size=2))

    report = await sweeper.sweep_once(T0 + timedelta(days=1))

    assert await segment_keys(sessions) == set()
    assert not set(segments) & await object_keys(store)
    assert await media_states(sessions) == {"e1": STORED, "e2": STORED, "e3": EXPIRED, "e4": STORED}
    assert await object_keys(store) == {k for e in ("e1", "e2", "e4") for k in keys(e).values()}
    assert (report.segments_deleted, report.clips_expired, report.snapshots_expired) == (3, 1, 1)
    assert (report.quota_freed_bytes, report.events_deleted, report.interrupted) == (
        3 * MIB + EVENT_BYTES,
        0,
        False,
    )
    assert sweeper.status() == {
        "quota_bytes": quota,
        "stored_bytes": 3 * EVENT_BYTES,
        "kept_bytes": EVENT_BYTES,
        "kept_events": 1,
        "quota_exceeded": False,
        "alarm": "",
        "checked_at": (T0 + timedelta(days=1)).isoformat(),
        "last_sweep_interrupted": False,
        "locked_skipped": 0,
    }
    again = await sweeper.sweep_once(T0 + timedelta(days=1))
    assert (again.objects_deleted, again.quota_freed_bytes) == (0, 0)


async def test_a_quota_that_kept_events_fill_raises_one_alarm(
    sessions: Sessions, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    await add_event(sessions, store, "k1", minute=0, kept=True)
    await add_event(sessions, store, "k2", minute=1, kept=True)
    sweeper = RetentionSweeper(sessions, store, RetentionSettings(quota_bytes=4 * MIB))

    with caplog.at_level(logging.INFO, logger="hub.retention.sweeper"):
        await sweeper.sweep_once(T0 + timedelta(days=1))
        await sweeper.sweep_once(T0 + timedelta(days=1, hours=1))

    alarm = (
        "storage quota cannot be met: 6.0 MiB stored, quota 4.0 MiB; 6.0 MiB is held by 2 kept event(s), "
        "the rest by media whose tickets are not delivered yet or that the store keeps locked; release "
        "kept events, check ticket delivery, or raise retention.quota_bytes"
    )
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [f"retention: {alarm}"]
    assert sweeper.status()["alarm"] == alarm
    assert sweeper.status()["quota_exceeded"] is True
    assert await media_states(sessions) == {"k1": STORED, "k2": STORED}

    caplog.clear()
    async with sessions.begin() as session:  # the operator releases k1
        await session.execute(update(Event).where(Event.id == "k1").values(keep_at=None))
    with caplog.at_level(logging.INFO, logger="hub.retention.sweeper"):
        await sweeper.sweep_once(T0 + timedelta(days=1, hours=2))

    assert await media_states(sessions) == {"k1": EXPIRED, "k2": STORED}
    assert sweeper.status()["quota_exceeded"] is False
    assert f"retention: stored media are within the quota again ({EVENT_BYTES} of {4 * MIB} bytes)" in [
        r.getMessage() for r in caplog.records
    ]


async def test_a_locked_object_is_left_and_its_row_says_so(sessions: Sessions, store: ObjectStore) -> None:
    await add_event(sessions, store, "held")
    clip = keys("held")["clip_key"]
    await store.lock(clip, ObjectLock(legal_hold=True))  # locked in the store, not kept in the hub
    sweeper = RetentionSweeper(sessions, store, RetentionSettings())

    report = await sweeper.sweep_once(T0 + timedelta(days=31))

    assert (report.locked_skipped, report.objects_deleted, report.interrupted) == (1, 2, False)
    assert report.locked_example == f"object {clip!r} is locked (a legal hold): cannot delete it"
    assert await media_states(sessions) == {"held": (MediaState.STORED, MediaState.EXPIRED)}
    assert await object_keys(store) == {clip}
    await store.unlock(clip)
    again = await sweeper.sweep_once(T0 + timedelta(days=31))
    assert (again.locked_skipped, again.objects_deleted, again.events_deleted) == (0, 1, 1)
    assert await media_states(sessions) == {}
    assert await object_keys(store) == set()


async def test_expired_segments_take_their_index_rows_with_them(sessions: Sessions, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    key = await add_segment(sessions, store, "old", hour=0)
    sweeper = RetentionSweeper(sessions, store, RetentionSettings(continuous_days=7))

    report = await sweeper.sweep_once(datetime.now(UTC) + timedelta(days=8))

    assert report.segments_deleted == 1
    assert key not in await object_keys(store)
    assert await segment_keys(sessions) == set()


async def test_an_event_kept_after_the_plan_was_made_is_spared(sessions: Sessions, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    await add_event(sessions, store, "late")
    sweeper = RetentionSweeper(sessions, store, RetentionSettings())
    async with sessions() as session:
        event = await session.get(Event, "late")
    assert event is not None
    plan = expired_media(  # as a sweep makes it
        [event_facts(event, TicketState.DELIVERED)],
        defaults=sweeper.defaults,
        overrides={},
        now=T0 + timedelta(days=31),
    )
    assert set(plan.delete_events) == {"late"}
    async with sessions.begin() as session:  # the operator marks it keep meanwhile
        await session.execute(update(Event).where(Event.id == "late").values(keep_at=T0))

    assert await sweeper._without_kept(plan) == ExpiryPlan()


def test_a_hub_without_a_running_sweeper_shows_no_quota() -> None:
    assert retention_status(None) == {
        "quota_bytes": None,
        "stored_bytes": None,
        "kept_bytes": 0,
        "kept_events": 0,
        "quota_exceeded": False,
        "alarm": "",
        "checked_at": None,
        "last_sweep_interrupted": None,
        "locked_skipped": 0,
    }
