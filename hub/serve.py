"""Run the API and the runtime under uvicorn until SIGINT/SIGTERM, then stop in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from hub.api.app import create_app
from hub.runtime import HubRuntime

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: it re-raises the signal once it has stopped,
    which would kill the hub before its runtime stops (open events ended, clips written)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _on_stop_signal(server: uvicorn.Server, signum: int) -> None:
    if server.should_exit:  # a second Ctrl-C: stop waiting for open connections
        server.force_exit = True
        return
    log.info("%s received: stopping", signal.Signals(signum).name)
    server.should_exit = True


async def serve(
    runtime: HubRuntime, *, on_started: asyncio.Event | None = None, stop_after_s: float | None = None
) -> None:
    """Start the runtime first (so start-up errors surface before the port opens), then the API."""
    settings = runtime.settings
    await runtime.start()
    loop = asyncio.get_running_loop()
    try:
        app = create_app(runtime, manage_runtime=False)
        config = uvicorn.Config(
            app, host=settings.api.host, port=settings.api.port, log_config=None, lifespan="on"
        )
        server = _Server(config)
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, _on_stop_signal, server, signum)
        serving = asyncio.create_task(server.serve(), name="api-server")
        while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.05)
        if server.started and on_started is not None:
            on_started.set()
        if stop_after_s is not None:
            await asyncio.wait([serving], timeout=stop_after_s)
            server.should_exit = True  # the same orderly path as Ctrl-C
        await serving  # returns once a stop signal (or stop_after_s) ended the server
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        await runtime.stop()
