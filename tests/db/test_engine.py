"""The engine's pragmas, and the DatabaseUnavailable errors an operator sees at start-up."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.db.engine import DatabaseUnavailable, async_database_url, create_engine, ping, redacted
from hub.db.migrate import upgrade


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///data/hub.db", "sqlite+aiosqlite:///data/hub.db"),
        ("sqlite+aiosqlite:////abs/hub.db", "sqlite+aiosqlite:////abs/hub.db"),
    ],
)
def test_async_database_url(given: str, expected: str) -> None:
    assert async_database_url(given) == expected


def test_redacted_hides_the_password() -> None:
    assert redacted("postgresql://hub:hunter2@db:5432/hub") == "postgresql://hub:***@db:5432/hub"


async def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'new' / 'dir' / 'hub.db'}")
    try:
        await ping(engine)
        async with engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    finally:
        await engine.dispose()
    assert (journal, foreign_keys, busy) == ("wal", 1, 5000)
    assert (tmp_path / "new" / "dir" / "hub.db").is_file()


async def test_unreachable_postgres_names_the_server_not_the_password() -> None:
    url = "postgresql://hub:hunter2@127.0.0.1:1/hub"
    engine = create_engine(url)
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            await ping(engine)
    finally:
        await engine.dispose()
    message = str(caught.value)
    assert message.startswith("database postgresql+asyncpg://hub:***@127.0.0.1:1/hub is unavailable: ")
    assert "hunter2" not in message
    assert "Connect call failed" in message


async def test_upgrade_on_unreachable_postgres_raises_database_unavailable() -> None:
    with pytest.raises(DatabaseUnavailable, match=r"hub:\*\*\*@127\.0\.0\.1:1/hub is unavailable"):
        await upgrade("postgresql://hub:hunter2@127.0.0.1:1/hub")


def test_unwritable_sqlite_directory_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(DatabaseUnavailable) as caught:
        create_engine(f"sqlite:///{blocker / 'hub.db'}")
    assert str(caught.value) == (
        f"database sqlite+aiosqlite:///{blocker / 'hub.db'} is unavailable: "
        f"cannot create its directory {blocker} (File exists)"
    )


async def test_unopenable_sqlite_file_is_named(tmp_path: Path) -> None:
    directory = tmp_path / "hub.db"
    directory.mkdir()  # a directory where the database file should be
    engine = create_engine(f"sqlite:///{directory}")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            await ping(engine)
    finally:
        await engine.dispose()
        await _aiosqlite_threads_stopped()
    assert str(caught.value) == (
        f"database sqlite+aiosqlite:///{directory} is unavailable: unable to open database file"
    )


async def _aiosqlite_threads_stopped() -> None:
    """aiosqlite stops its worker thread after a failed connect without waiting for it; the thread
    then reports to the event loop, so let it finish before pytest closes the loop."""
    for _ in range(200):
        if not any("_connection_worker_thread" in thread.name for thread in threading.enumerate()):
            return
        await asyncio.sleep(0.005)


def test_unparsable_url() -> None:
    with pytest.raises(DatabaseUnavailable, match="cannot be parsed"):
        create_engine("not a url")
