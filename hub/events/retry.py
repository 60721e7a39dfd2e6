"""Retry database writes of the event path until they succeed: a database hiccup must delay an
event, never lose it or stop the camera's analysis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a database outage raises through SQLAlchemy's async drivers:
RETRYABLE = (
    SQLAlchemyError,  # OperationalError, InterfaceError, DBAPIError from asyncpg / aiosqlite
    OSError,  # connection refused or reset below the driver
    TimeoutError,  # pool or connect time-out
)


async def until_written(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    initial_s: float = 0.5,
    max_s: float = 15.0,
) -> T:
    """Run ``operation`` until it succeeds; logs once when it starts failing and once when it works."""
    delay = initial_s
    failed = False
    while True:
        try:
            result = await operation()
        except RETRYABLE as err:
            if not failed:
                log.error("%s failed (%s); retrying until the database answers", what, err)
                failed = True
            await asyncio.sleep(delay)
            delay = min(max_s, delay * 2)
            continue
        if failed:
            log.info("%s succeeded after the database came back", what)
        return result
