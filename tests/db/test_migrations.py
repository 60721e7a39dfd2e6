"""The migrations build exactly the tables of hub.db.models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db.engine import create_engine
from hub.db.migrate import alembic_config, current_revision, head_revision, upgrade
from hub.db.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_fresh_database_has_no_revision(database_url: str) -> None:
    assert await current_revision(database_url) is None


async def test_upgrade_reaches_head_and_is_idempotent(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)
    assert head_revision() == "0004"
    assert await current_revision(database_url) == "0004"


async def test_models_and_migrations_agree(migrated_engine: AsyncEngine) -> None:
    async with migrated_engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == []


async def test_migrated_tables_and_indexes(migrated_engine: AsyncEngine) -> None:
    def describe(connection: Connection) -> dict[str, list[str]]:
        inspector = inspect(connection)
        return {
            table: sorted(index["name"] or "" for index in inspector.get_indexes(table))
            for table in ("cameras", "events", "tickets")
        }

    async with migrated_engine.connect() as connection:
        indexes = await connection.run_sync(describe)
        tables = await connection.run_sync(lambda c: sorted(inspect(c).get_table_names()))
    assert tables == ["alembic_version", "cameras", "events", "regions", "segments", "tickets"]
    assert indexes["events"] == [
        "ix_events_camera_started",
        "ix_events_clip_key",
        "ix_events_keep_lock_state",
        "ix_events_snapshot_key",
        "ix_events_state",
        "ix_events_thumbnail_key",
    ]
    assert "ix_tickets_due" in indexes["tickets"]


async def test_engine_and_migrations_accept_plain_urls(database_url: str) -> None:
    assert not database_url.startswith(("sqlite+aiosqlite", "postgresql+asyncpg"))
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        assert engine.url.drivername in {"sqlite+aiosqlite", "postgresql+asyncpg"}
    finally:
        await engine.dispose()


AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ROWS_AT_0003 = (
    "INSERT INTO cameras (id, name, enabled, main_url, status, status_reason, status_changed_at,"
    " reconnects, created_at, updated_at)"
    " VALUES ('gate', 'Gate', true, 'rtsp://192.0.2.1/live', 'online', '', :at, 0, :at, :at)",
    "INSERT INTO events (id, camera_id, kind, severity, state, started_at, score, clip_state,"
    " snapshot_state, details, created_at)"
    " VALUES ('ev-1', 'gate', 'motion', 'yellow', 'closed', :at, 0.5, 'stored', 'stored', '{}', :at)",
    "INSERT INTO tickets (id, event_id, payload, state, attempts, next_attempt_at, last_error, created_at)"
    " VALUES ('tk-1', 'ev-1', '{}', 'delivered', 1, :at, '', :at)",
)
KEEP_COLUMNS = (
    "keep_at, keep_by, keep_reason, keep_until, keep_lock_mode, keep_lock_state, keep_lock_error,"
    " snapshot_bytes, thumbnail_bytes"
)


async def _execute(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run the statements in one transaction; the rows of the last one."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = None
            for statement in statements:
                result = await connection.execute(text(statement), {"at": AT})
            return [tuple(row) for row in result.all()] if result is not None and result.returns_rows else []
    finally:
        await engine.dispose()


async def test_0004_adds_the_keep_columns_to_existing_events_and_drops_them_again(database_url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "0003")
    await _execute(database_url, *ROWS_AT_0003)

    await upgrade(database_url)

    assert await current_revision(database_url) == "0004"
    assert await _execute(database_url, f"SELECT id, {KEEP_COLUMNS} FROM events") == [
        ("ev-1", None, None, None, None, None, "none", "", None, None)
    ]
    kept = await _execute(
        database_url,
        "UPDATE events SET keep_at = :at, keep_by = 'li', keep_reason = 'case 7', keep_lock_state = 'locked'",
        "SELECT keep_by, keep_reason, keep_lock_state FROM events",
    )
    assert kept == [("li", "case 7", "locked")]

    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0003")

    assert await current_revision(database_url) == "0003"
    assert await _execute(database_url, "SELECT id, camera_id, clip_state FROM events") == [
        ("ev-1", "gate", "stored")
    ]
    assert await _execute(database_url, "SELECT id, event_id FROM tickets") == [("tk-1", "ev-1")]
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("events")}
            )
    finally:
        await engine.dispose()
    assert not columns & {"keep_at", "keep_lock_state", "snapshot_bytes", "thumbnail_bytes"}
