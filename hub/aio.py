"""Small asyncio helpers shared by the hub's background services."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


def backoff_delay(failures: int, *, initial_s: float, max_s: float, factor: float = 1.0) -> float:
    """Exponential back-off with jitter for the ``failures``-th failure in a row (1 = the first):
    a random wait in [cap/2, cap], so cameras behind one switch do not all retry in step."""
    cap = min(max_s, initial_s * factor * 2 ** max(0, failures - 1))
    return random.uniform(cap / 2, cap)


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait for it; re-raise only if *we* are being cancelled too."""
    if task is None or task.done():
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


def spawn(coro: Coroutine[Any, Any, Any], *, name: str, tasks: set[asyncio.Task[Any]]) -> asyncio.Task[Any]:
    """Start a named background task, keep a reference until it ends, and log if it crashes."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    tasks.add(task)

    def _done(t: asyncio.Task[Any]) -> None:
        tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("background task %s failed", t.get_name(), exc_info=t.exception())

    task.add_done_callback(_done)
    return task
