"""Migration 0002 on a database with data: events and tickets survive the SQLite rebuild of
``cameras``, old cameras become config cameras with the defaults, and the downgrade keeps them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from hub.db.engine import create_engine
from hub.db.migrate import alembic_config, current_revision, head_revision, upgrade

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ROWS = (
    "INSERT INTO cameras (id, name, enabled, main_url, status, status_reason, status_changed_at,"
    " reconnects, created_at, updated_at)"
    " VALUES ('gate', 'Gate', true, 'rtsp://192.0.2.1/live', 'online', '', :at, 3, :at, :at)",
    "INSERT INTO events (id, camera_id, kind, severity, state, started_at, score, clip_state,"
    " snapshot_state, details, created_at)"
    " VALUES ('ev-1', 'gate', 'motion', 'yellow', 'closed', :at, 0.5, 'stored', 'stored', '{}', :at)",
    "INSERT INTO tickets (id, event_id, payload, state, attempts, next_attempt_at, last_error, created_at)"
    " VALUES ('tk-1', 'ev-1', '{}', 'pending', 0, :at, '', :at)",
)


async def _at_0001_with_an_event(url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0001")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in ROWS:
                await connection.execute(text(statement), {"at": AT})
    finally:
        await engine.dispose()


async def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def test_upgrade_keeps_events_and_tickets(database_url: str) -> None:
    await _at_0001_with_an_event(database_url)

    await upgrade(database_url)

    assert await current_revision(database_url) == head_revision()  # upgrade goes to head
    assert await _query(database_url, "SELECT id, camera_id FROM events") == [("ev-1", "gate")]
    assert await _query(database_url, "SELECT id, event_id FROM tickets") == [("tk-1", "ev-1")]
    cameras = await _query(
        database_url,
        "SELECT id, reconnects, source, kind, protocol, region_id, password_enc FROM cameras",
    )
    assert cameras == [("gate", 3, "config", "other", "rtsp", None, None)]


async def test_foreign_keys_still_hold_after_the_rebuild(database_url: str) -> None:
    await _at_0001_with_an_event(database_url)
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM cameras WHERE id = 'gate'"))
        async with engine.connect() as connection:
            left = (await connection.execute(text("SELECT count(*) FROM events"))).scalar()
    finally:
        await engine.dispose()

    assert left == 0  # events.camera_id still cascades: the rebuilt table is the one referenced


async def test_downgrade_keeps_events(database_url: str) -> None:
    await _at_0001_with_an_event(database_url)
    await upgrade(database_url)

    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0001")

    assert await current_revision(database_url) == "0001"
    assert await _query(database_url, "SELECT id, camera_id FROM events") == [("ev-1", "gate")]
