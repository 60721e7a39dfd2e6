"""Run the Alembic migrations from code: the hub calls ``upgrade`` at start-up."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url

from hub.db.engine import CONNECT_ERRORS, create_engine, unavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config built in code: the package's migrations, against ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal '%' (e.g. in a URL-encoded password) must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def upgrade(url: str) -> None:
    """``alembic upgrade head`` on ``url``; DatabaseUnavailable when it cannot be opened."""
    create_engine(url)  # fails early, with a clear message, on a bad URL or SQLite directory
    await asyncio.to_thread(_open_sqlite_file, url)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    except CONNECT_ERRORS as err:
        raise unavailable(url, err) from err


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    except CONNECT_ERRORS as err:
        raise unavailable(url, err) from err
    finally:
        await engine.dispose()


def _open_sqlite_file(url: str) -> None:
    """Open a SQLite file with the plain driver first: aiosqlite, failing to connect, leaves its
    worker thread to die against a closed event loop (a stray traceback), so fail here instead."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    try:
        sqlite3.connect(parsed.database).close()
    except sqlite3.Error as err:
        raise unavailable(url, err) from err


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
