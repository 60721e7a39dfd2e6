"""RetentionSweeper on a real SQLite database and the local object store (and S3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config.retention import RetentionSettings
from hub.db.engine import create_engine, session_factory
from hub.db.migrate import upgrade
from hub.db.models import Camera, Event, EventState, MediaState, Ticket, TicketState
from hub.retention.sweeper import RetentionSweeper
from storage.base import ObjectStore
from storage.errors import ObjectNotFound, StorageUnavailable
from storage.local import LocalObjectStore
from storage.s3 import S3ObjectStore

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
AT_31_DAYS = T0 + timedelta(days=31)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def local_store(tmp_path: Path) -> AsyncIterator[LocalObjectStore]:
    store = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    yield store
    await store.close()


def keys_of(event_id: str, camera: str) -> dict[str, str]:
    return {
        "clip_key": f"clips/{camera}/2026/01/01/{event_id}.mp4",
        "snapshot_key": f"snapshots/{camera}/2026/01/01/{event_id}.jpg",
        "thumbnail_key": f"thumbnails/{camera}/2026/01/01/{event_id}.jpg",
    }


# id, camera, ticket, clip state, start after T0: "a" goes, "b" is kept (ticket pending), "c"
# (one-day clips) loses its clip only, "d" is recent and stays whole, "e"'s clip waits in the spool.
EVENTS: list[tuple[str, str, TicketState, MediaState, timedelta]] = [
    ("a", "cam", TicketState.DELIVERED, MediaState.STORED, timedelta(0)),
    ("b", "cam", TicketState.PENDING, MediaState.STORED, timedelta(0)),
    ("c", "short", TicketState.DELIVERED, MediaState.STORED, timedelta(days=29)),
    ("d", "cam", TicketState.DELIVERED, MediaState.STORED, timedelta(days=25)),
    ("e", "cam", TicketState.DELIVERED, MediaState.SPOOLED, timedelta(0)),
]


async def populate(sessions: Sessions, store: ObjectStore) -> set[str]:
    """Cameras, events, tickets and their real objects; returns every object key."""
    all_keys: set[str] = set()
    async with sessions.begin() as session:
        session.add(Camera(id="cam", name="cam", main_url="rtsp://127.0.0.1/cam"))
        session.add(
            Camera(id="short", name="short", main_url="rtsp://127.0.0.1/s", retention={"event_clip_days": 1})
        )
        await session.flush()
        for event_id, camera, ticket, clip_state, offset in EVENTS:
            keys = keys_of(event_id, camera)
            started = T0 + offset
            session.add(
                Event(
                    id=event_id,
                    camera_id=camera,
                    kind="motion",
                    severity="yellow",
                    state=EventState.CLOSED,
                    started_at=started,
                    ended_at=started + timedelta(seconds=10),
                    clip_state=clip_state,
                    snapshot_state=MediaState.STORED,
                    **keys,
                )
            )
            await session.flush()
            session.add(Ticket(event_id=event_id, payload={"event": event_id}, state=ticket))
            stored = (
                keys.values()
                if clip_state is MediaState.STORED
                else [keys["snapshot_key"], keys["thumbnail_key"]]
            )
            all_keys |= set(stored)
    for key in sorted(all_keys):
        await store.put(key, key.encode(), content_type="application/octet-stream")
    return all_keys


async def object_keys(store: ObjectStore) -> set[str]:
    return {info.key for info in await store.list("")}


async def rows(sessions: Sessions) -> dict[str, tuple[MediaState, MediaState, TicketState | None]]:
    async with sessions() as session:
        events = (await session.scalars(select(Event))).all()
        result = await session.execute(select(Ticket.event_id, Ticket.state))
        tickets: dict[str, TicketState] = {event_id: state for event_id, state in result.all()}
    return {e.id: (e.clip_state, e.snapshot_state, tickets.get(e.id)) for e in events}


EXPECTED_ROWS = {
    "b": (MediaState.EXPIRED, MediaState.EXPIRED, TicketState.PENDING),
    "c": (MediaState.EXPIRED, MediaState.STORED, TicketState.DELIVERED),
    "d": (MediaState.STORED, MediaState.STORED, TicketState.DELIVERED),
    "e": (MediaState.SPOOLED, MediaState.EXPIRED, TicketState.DELIVERED),
}


def expected_objects(all_keys: set[str]) -> set[str]:
    gone = {k for e in ("a", "b") for k in keys_of(e, "cam").values()}
    gone.add(keys_of("c", "short")["clip_key"])
    gone |= {keys_of("e", "cam")["snapshot_key"], keys_of("e", "cam")["thumbnail_key"]}
    return all_keys - gone


async def test_sweep_at_31_days_deletes_exactly_the_expired(
    sessions: Sessions, local_store: LocalObjectStore
) -> None:
    all_keys = await populate(sessions, local_store)
    sweeper = RetentionSweeper(sessions, local_store, RetentionSettings(batch_size=2))
    report = await sweeper.sweep_once(AT_31_DAYS)
    assert await object_keys(local_store) == expected_objects(all_keys)
    assert await rows(sessions) == EXPECTED_ROWS
    assert (report.objects_deleted, report.clips_expired, report.snapshots_expired) == (9, 3, 3)
    assert (report.events_deleted, report.interrupted) == (1, False)
    again = await sweeper.sweep_once(AT_31_DAYS)
    assert (again.objects_deleted, again.events_deleted) == (0, 0)


async def test_delivered_ticket_later_lets_the_row_go(
    sessions: Sessions, local_store: LocalObjectStore
) -> None:
    await populate(sessions, local_store)
    sweeper = RetentionSweeper(sessions, local_store, RetentionSettings())
    await sweeper.sweep_once(AT_31_DAYS)
    async with sessions.begin() as session:
        ticket = (await session.scalars(select(Ticket).where(Ticket.event_id == "b"))).one()
        ticket.state = TicketState.DELIVERED
    report = await sweeper.sweep_once(AT_31_DAYS + timedelta(hours=1))
    assert (report.objects_deleted, report.events_deleted) == (0, 1)
    assert set(await rows(sessions)) == {"c", "d", "e"}


class FlakyStore(LocalObjectStore):
    """Deletes ``budget`` objects, then answers StorageUnavailable; a missing key is ObjectNotFound."""

    budget = 0

    async def delete(self, key: str) -> None:
        if self.budget <= 0:
            raise StorageUnavailable("connection refused")
        self.budget -= 1
        if key.endswith("c.mp4"):
            await super().delete(key)
            raise ObjectNotFound(key)  # as a backend that reports it: counts as deleted
        await super().delete(key)


@pytest.mark.parametrize("budget", [0, 1, 4, 7])
async def test_store_outage_mid_sweep_leaves_consistent_state(
    sessions: Sessions, tmp_path: Path, budget: int
) -> None:
    store = FlakyStore(tmp_path / "flaky", signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    all_keys = await populate(sessions, store)
    store.budget = budget
    sweeper = RetentionSweeper(sessions, store, RetentionSettings(batch_size=2))
    report = await sweeper.sweep_once(AT_31_DAYS)
    assert report.interrupted is True
    assert report.error == "connection refused"
    assert report.objects_deleted == budget
    present = await object_keys(store)
    assert len(all_keys - present) == budget
    # No row calls a missing object stored; no row is deleted while any of its objects is there.
    async with sessions() as session:
        for event in (await session.scalars(select(Event))).all():
            if event.clip_state is MediaState.STORED:
                assert event.clip_key in present
            if event.snapshot_state is MediaState.STORED:  # its thumbnail may go first
                assert event.snapshot_key in present
    remaining = set(await rows(sessions))
    if "a" not in remaining:
        assert not set(keys_of("a", "cam").values()) & present
    store.budget = 100  # the store is back: the next sweep finishes the job
    await sweeper.sweep_once(AT_31_DAYS)
    assert await object_keys(store) == expected_objects(all_keys)
    assert await rows(sessions) == EXPECTED_ROWS
    await store.close()


async def test_continuous_segments_expire_per_camera(
    sessions: Sessions, local_store: LocalObjectStore
) -> None:
    await populate(sessions, local_store)
    old = "segments/cam/2026/01/01/seg-1.mp4"
    await local_store.put(old, b"seg", content_type="video/mp4")
    sweeper = RetentionSweeper(sessions, local_store, RetentionSettings(continuous_days=7))
    now = datetime.now(UTC)
    assert (await sweeper.sweep_once(now + timedelta(days=6))).segments_deleted == 0
    report = await sweeper.sweep_once(now + timedelta(days=7, minutes=1))
    assert report.segments_deleted == 1
    assert old not in await object_keys(local_store)


async def test_background_service_sweeps_and_stops(sessions: Sessions, local_store: LocalObjectStore) -> None:
    sweeper = RetentionSweeper(sessions, local_store, RetentionSettings())
    await sweeper.start()
    for _ in range(100):
        if sweeper.last_report is not None:
            break
        await asyncio.sleep(0.01)
    await sweeper.stop()
    assert sweeper.last_report is not None
    assert sweeper.last_report.objects_deleted == 0
    assert sweeper._task is None


@pytest.mark.s3
async def test_sweep_on_s3(sessions: Sessions, s3_store: S3ObjectStore) -> None:
    all_keys = await populate(sessions, s3_store)
    report = await RetentionSweeper(sessions, s3_store, RetentionSettings()).sweep_once(AT_31_DAYS)
    assert report.interrupted is False
    assert await object_keys(s3_store) == expected_objects(all_keys)
    assert await rows(sessions) == EXPECTED_ROWS
