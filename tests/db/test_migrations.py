"""The migrations build exactly the tables of hub.db.models, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db.engine import create_engine
from hub.db.migrate import current_revision, head_revision, upgrade
from hub.db.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_fresh_database_has_no_revision(database_url: str) -> None:
    assert await current_revision(database_url) is None


async def test_upgrade_reaches_head_and_is_idempotent(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)
    assert head_revision() == "0003"
    assert await current_revision(database_url) == "0003"


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
    assert indexes["events"] == ["ix_events_camera_started", "ix_events_state"]
    assert "ix_tickets_due" in indexes["tickets"]


async def test_engine_and_migrations_accept_plain_urls(database_url: str) -> None:
    assert not database_url.startswith(("sqlite+aiosqlite", "postgresql+asyncpg"))
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        assert engine.url.drivername in {"sqlite+aiosqlite", "postgresql+asyncpg"}
    finally:
        await engine.dispose()
