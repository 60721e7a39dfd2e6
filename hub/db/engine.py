"""The async engine: SQLite (WAL, foreign keys) or PostgreSQL (asyncpg), with clear start-up errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 5000

# Errors that mean "the database cannot be reached or opened", mapped to DatabaseUnavailable.
CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    DBAPIError,  # the driver refused: bad credentials, missing database, sqlite cannot open the file
    # (its InterfaceError subclass: the driver lost or never got its connection)
    OSError,  # asyncpg: connection refused, host unreachable, DNS failure
    TimeoutError,  # asyncpg: the server did not answer within the connect timeout
    sqlite3.Error,  # raised by aiosqlite before SQLAlchemy wraps it on some paths
)


class DatabaseUnavailable(Exception):
    """The database cannot be opened or connected to; the message names it (no password) and why."""


def async_database_url(url: str) -> str:
    """``postgresql://`` → ``postgresql+asyncpg://``, ``sqlite://`` → ``sqlite+aiosqlite://``."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


def redacted(url: str | URL) -> str:
    """The URL for messages and logs, with the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def create_engine(url: str) -> AsyncEngine:
    """An engine for ``url``; SQLite gets its directory created and its pragmas on every connection."""
    try:
        parsed = make_url(async_database_url(url))
    except ArgumentError as err:
        raise DatabaseUnavailable(f"database URL {url!r} cannot be parsed: {err}") from err
    if parsed.get_backend_name() == "sqlite":
        _make_sqlite_dir(parsed)
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(parsed, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """``SELECT 1``; raises DatabaseUnavailable naming the database and the reason."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except CONNECT_ERRORS as err:
        raise unavailable(engine.url, err) from err


def unavailable(url: str | URL, err: BaseException) -> DatabaseUnavailable:
    reason = getattr(err, "orig", None) or err
    return DatabaseUnavailable(f"database {redacted(url)} is unavailable: {reason}")


def _make_sqlite_dir(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatabaseUnavailable(
            f"database {redacted(url)} is unavailable: cannot create its directory "
            f"{Path(database).parent} ({err.strerror})"
        ) from err


def _sqlite_pragmas(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()
