"""Evidence keep (hub.events.keep) on a real SQLite database and both stores: the local one and a
SeaweedFS bucket with Object Lock. Locks, the upload hook, releases, outages and conflicts."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config.storage import ObjectLockMode, ObjectLockSettings
from hub.db.engine import create_engine, session_factory
from hub.db.migrate import upgrade
from hub.db.models import Camera, Event, EventState, KeepLock, MediaState
from hub.events import keep
from storage.base import LockMode, ObjectLock, ObjectStore, whole_second
from storage.errors import ObjectLocked, StorageUnavailable
from storage.local import LocalObjectStore
from storage.s3 import S3ObjectStore
from tests.fixtures.seaweed import S3Endpoint, make_s3_store

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GOVERNANCE_30 = ObjectLockSettings(enabled=True, mode=ObjectLockMode.GOVERNANCE, days=30)
LEGAL_HOLD = ObjectLockSettings(enabled=True, mode=ObjectLockMode.LEGAL_HOLD)


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


def _worm_bucket(endpoint: S3Endpoint) -> S3ObjectStore:
    return S3ObjectStore(
        endpoint=endpoint.endpoint,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        bucket=f"keep-{uuid.uuid4().hex[:20]}",
        object_lock=True,
    )


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    backend: ObjectStore
    if request.param == "local":
        backend = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    else:
        backend = _worm_bucket(request.getfixturevalue("s3_server"))
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
    snapshot: MediaState = MediaState.STORED,
    clip_key: str | None = None,
) -> dict[str, str]:
    """A closed event whose clip is stored; its snapshot and thumbnail too unless ``snapshot``
    says they still wait in the spool. Returns its keys."""
    media = keys(event_id) | ({"clip_key": clip_key} if clip_key else {})
    async with sessions.begin() as session:
        session.add(
            Event(
                id=event_id,
                camera_id="cam",
                kind="motion",
                severity="yellow",
                state=EventState.CLOSED,
                started_at=T0,
                ended_at=T0,
                clip_state=MediaState.STORED,
                snapshot_state=snapshot,
                **media,
            )
        )
    stored = [media["clip_key"]]
    if snapshot is MediaState.STORED:
        stored += [media["snapshot_key"], media["thumbnail_key"]]
    for key in stored:
        # ObjectLocked: a shared clip put again for the second event, there and locked already.
        with contextlib.suppress(ObjectLocked):
            await store.put(key, key.encode(), content_type="application/octet-stream")
    return media


async def row(sessions: Sessions, event_id: str) -> Event:
    async with sessions() as session:
        event = await session.get(Event, event_id)
    assert event is not None
    return event


async def mark(
    sessions: Sessions, store: ObjectStore, event_id: str, settings: ObjectLockSettings, now: datetime
) -> Event:
    return await keep.mark_keep(
        sessions=sessions,
        store=store,
        settings=settings,
        event_id=event_id,
        by="li",
        reason="case 7",
        now=now,
    )


async def released_soon(store: ObjectStore, key: str) -> bool:
    """Whether ``key`` is free within a few seconds (S3 lets a lifted governance lock lapse)."""
    deadline = time.monotonic() + 5
    while (await store.lock_of(key)).held(datetime.now(UTC)):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


async def test_keep_locks_the_stored_media_and_release_lifts_the_locks(
    sessions: Sessions, store: ObjectStore
) -> None:
    media = await add_event(sessions, store, "ev")
    now = datetime.now(UTC)
    until = whole_second(now + timedelta(days=30))

    kept = await mark(sessions, store, "ev", GOVERNANCE_30, now)

    assert (kept.keep_by, kept.keep_reason, kept.keep_at, kept.keep_until) == ("li", "case 7", now, until)
    assert (kept.keep_lock_mode, kept.keep_lock_state, kept.keep_lock_error) == (
        ObjectLockMode.GOVERNANCE,
        KeepLock.LOCKED,
        "",
    )
    for key in media.values():
        assert await store.lock_of(key) == ObjectLock(LockMode.GOVERNANCE, until)
    with pytest.raises(ObjectLocked):
        await store.delete(media["clip_key"])

    released = await keep.release_keep(
        sessions=sessions, store=store, event_id="ev", now=now + timedelta(hours=1)
    )

    assert (released.keep_at, released.keep_by, released.keep_lock_mode, released.keep_lock_state) == (
        None,
        None,
        None,
        KeepLock.NONE,
    )
    assert released.details["released_keep"] == {
        "by": "li",
        "reason": "case 7",
        "at": now.isoformat(),
        "released_at": (now + timedelta(hours=1)).isoformat(),
    }
    for key in media.values():
        assert await released_soon(store, key)


async def test_media_from_the_spool_are_locked_right_after_upload(
    sessions: Sessions, store: ObjectStore
) -> None:
    media = await add_event(sessions, store, "ev", snapshot=MediaState.SPOOLED)
    now = datetime.now(UTC)

    kept = await mark(sessions, store, "ev", LEGAL_HOLD, now)

    assert (kept.keep_lock_state, kept.keep_until) == (KeepLock.PENDING, None)
    assert await store.lock_of(media["clip_key"]) == ObjectLock(legal_hold=True)
    # The uploader: the snapshot goes first, its row says stored, then the hook runs...
    await store.put(media["snapshot_key"], b"jpeg", content_type="image/jpeg")
    async with sessions.begin() as session:
        await session.execute(update(Event).where(Event.id == "ev").values(snapshot_state=MediaState.STORED))
    await keep.media_uploaded(sessions=sessions, store=store, key=media["snapshot_key"], size=4, now=now)
    assert (await row(sessions, "ev")).keep_lock_state is KeepLock.PENDING  # the thumbnail is still queued
    assert await store.lock_of(media["snapshot_key"]) == ObjectLock(legal_hold=True)
    # ...then the thumbnail.
    await store.put(media["thumbnail_key"], b"jp", content_type="image/jpeg")
    await keep.media_uploaded(sessions=sessions, store=store, key=media["thumbnail_key"], size=2, now=now)

    event = await row(sessions, "ev")
    assert (event.keep_lock_state, event.snapshot_bytes, event.thumbnail_bytes) == (KeepLock.LOCKED, 4, 2)
    assert await store.lock_of(media["thumbnail_key"]) == ObjectLock(legal_hold=True)
    await keep.release_keep(sessions=sessions, store=store, event_id="ev", now=now)
    for key in media.values():
        assert not (await store.lock_of(key)).legal_hold


async def test_a_clip_that_another_kept_event_shares_stays_locked(
    sessions: Sessions, store: ObjectStore
) -> None:
    shared = "clips/cam/2026/01/01/merged.mp4"
    first = await add_event(sessions, store, "p", clip_key=shared)
    await add_event(sessions, store, "q", clip_key=shared)
    now = datetime.now(UTC)
    await mark(sessions, store, "p", LEGAL_HOLD, now)
    await mark(sessions, store, "q", LEGAL_HOLD, now)

    await keep.release_keep(sessions=sessions, store=store, event_id="p", now=now)

    assert await store.lock_of(shared) == ObjectLock(legal_hold=True)
    assert await store.lock_of(first["snapshot_key"]) == ObjectLock()
    assert (await row(sessions, "q")).keep_lock_state is KeepLock.LOCKED


async def test_a_compliance_keep_is_released_only_after_its_date(sessions: Sessions, tmp_path: Path) -> None:
    clock_now = [datetime.now(UTC)]
    store = LocalObjectStore(
        tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1", clock=lambda: clock_now[0]
    )
    await store.start()
    media = await add_event(sessions, store, "ev")
    now = clock_now[0]
    settings = ObjectLockSettings(enabled=True, mode=ObjectLockMode.COMPLIANCE, days=1)
    until = (await mark(sessions, store, "ev", settings, now)).keep_until
    assert until == whole_second(now + timedelta(days=1))

    with pytest.raises(keep.NotReleasable) as refused:
        await keep.release_keep(sessions=sessions, store=store, event_id="ev", now=now + timedelta(hours=23))

    assert refused.value.until == until
    assert str(refused.value) == (
        f"event ev is under a compliance lock until {until:%Y-%m-%dT%H:%M:%SZ}; "
        "nobody can release it before then"
    )
    assert (await row(sessions, "ev")).keep_lock_state is KeepLock.LOCKED
    clock_now[0] = until
    released = await keep.release_keep(sessions=sessions, store=store, event_id="ev", now=until)
    assert released.keep_at is None
    await store.delete(media["clip_key"])


async def test_keeping_again_conflicts_and_unknown_events(sessions: Sessions, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    await add_event(sessions, store, "ev")
    first = await mark(sessions, store, "ev", GOVERNANCE_30, T0 + timedelta(days=400))

    again = await mark(sessions, store, "ev", GOVERNANCE_30, T0 + timedelta(days=401))
    assert (again.keep_at, again.keep_until) == (first.keep_at, first.keep_until)  # the first mark stands
    with pytest.raises(keep.AlreadyKept) as conflict:
        await keep.mark_keep(
            sessions=sessions,
            store=store,
            settings=GOVERNANCE_30,
            event_id="ev",
            by="wang",
            reason="x",
            now=T0,
        )
    assert str(conflict.value) == (
        f"event ev is kept already, since {first.keep_at:%Y-%m-%dT%H:%M:%SZ} by 'li'; "
        "release it first to keep it for another reason"
    )
    assert conflict.value.event.keep_by == "li"
    with pytest.raises(keep.EventNotFound, match="no event 'nope'"):
        await mark(sessions, store, "nope", GOVERNANCE_30, T0)
    with pytest.raises(keep.EventNotFound):
        await keep.release_keep(sessions=sessions, store=store, event_id="nope", now=T0)


async def test_without_object_lock_keep_is_a_hold_in_the_database_only(
    sessions: Sessions, tmp_path: Path
) -> None:
    store = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    media = await add_event(sessions, store, "ev")

    kept = await mark(sessions, store, "ev", ObjectLockSettings(), T0)

    assert (kept.keep_lock_mode, kept.keep_until, kept.keep_lock_state) == (None, None, KeepLock.NONE)
    assert await store.lock_of(media["clip_key"]) == ObjectLock()
    released = await keep.release_keep(sessions=sessions, store=store, event_id="ev", now=T0)
    assert released.keep_at is None
    not_kept = await keep.release_keep(sessions=sessions, store=store, event_id="ev", now=T0)
    assert not_kept.keep_at is None


async def test_a_store_outage_leaves_the_lock_pending_for_the_sweep(
    sessions: Sessions, tmp_path: Path
) -> None:
    root = tmp_path / "objects"
    store = LocalObjectStore(root, signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    media = await add_event(sessions, store, "ev")
    root.rename(tmp_path / "unmounted")
    now = datetime.now(UTC)

    kept = await mark(sessions, store, "ev", LEGAL_HOLD, now)

    assert kept.keep_lock_state is KeepLock.PENDING
    assert (
        kept.keep_lock_error
        == f"object store unavailable: local storage root {root} is missing (deleted or unmounted?)"
    )
    (tmp_path / "unmounted").rename(root)
    assert await keep.settle_locks(sessions=sessions, store=store, now=now) == 1
    assert ((await row(sessions, "ev")).keep_lock_state, (await row(sessions, "ev")).keep_lock_error) == (
        KeepLock.LOCKED,
        "",
    )
    assert await store.lock_of(media["clip_key"]) == ObjectLock(legal_hold=True)


async def test_a_release_the_store_cannot_do_now_finishes_later(sessions: Sessions, tmp_path: Path) -> None:
    root = tmp_path / "objects"
    store = LocalObjectStore(root, signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    media = await add_event(sessions, store, "ev")
    now = datetime.now(UTC)
    await mark(sessions, store, "ev", LEGAL_HOLD, now)
    root.rename(tmp_path / "unmounted")

    with pytest.raises(StorageUnavailable):
        await keep.release_keep(sessions=sessions, store=store, event_id="ev", now=now)

    stuck = await row(sessions, "ev")
    assert (stuck.keep_at, stuck.keep_lock_state) == (now, KeepLock.RELEASING)  # still kept meanwhile
    assert stuck.keep_lock_error.startswith(
        "releasing: the locks could not be lifted yet: local storage root"
    )
    with pytest.raises(keep.AlreadyKept, match="is being released"):
        await mark(sessions, store, "ev", LEGAL_HOLD, now)
    (tmp_path / "unmounted").rename(root)
    await keep.settle_locks(sessions=sessions, store=store, now=now)
    done = await row(sessions, "ev")
    assert (done.keep_at, done.keep_lock_state, done.keep_lock_error) == (None, KeepLock.NONE, "")
    await store.delete(media["clip_key"])


@pytest.mark.s3
async def test_a_bucket_without_object_lock_marks_the_lock_failed(
    sessions: Sessions, s3_server: S3Endpoint
) -> None:
    store = make_s3_store(s3_server)
    await store.start()
    await add_event(sessions, store, "ev")

    kept = await mark(sessions, store, "ev", LEGAL_HOLD, datetime.now(UTC))

    assert kept.keep_lock_state is KeepLock.FAILED
    assert "has no Object Lock" in kept.keep_lock_error
    assert kept.keep_at is not None  # the hold itself stands: retention and the quota spare it
    released = await keep.release_keep(sessions=sessions, store=store, event_id="ev", now=datetime.now(UTC))
    assert (released.keep_at, released.keep_lock_state) == (None, KeepLock.NONE)
    await store.close()


async def test_the_upload_hook_records_snapshot_and_thumbnail_sizes(
    sessions: Sessions, tmp_path: Path
) -> None:
    store = LocalObjectStore(tmp_path / "objects", signing_key=b"k", base_url="http://127.0.0.1:1")
    await store.start()
    media = await add_event(sessions, store, "ev")

    for key, size in ((media["snapshot_key"], 900), (media["thumbnail_key"], 90), (media["clip_key"], 5)):
        await keep.media_uploaded(sessions=sessions, store=store, key=key, size=size)
    await keep.media_uploaded(sessions=sessions, store=store, key="segments/cam/2026/01/01/s.mp4", size=7)

    event = await row(sessions, "ev")
    assert (event.snapshot_bytes, event.thumbnail_bytes, event.clip_bytes) == (900, 90, None)
