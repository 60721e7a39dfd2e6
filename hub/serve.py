"""Run the API and the runtime under uvicorn until SIGINT/SIGTERM, then stop in order."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from hub.api.app import create_app
from hub.runtime import HubRuntime

log = logging.getLogger(__name__)


async def serve(
    runtime: HubRuntime, *, on_started: asyncio.Event | None = None, stop_after_s: float | None = None
) -> None:
    """Start the runtime first (so start-up errors surface before the port opens), then the API."""
    settings = runtime.settings
    await runtime.start()
    try:
        app = create_app(runtime, manage_runtime=False)
        config = uvicorn.Config(
            app, host=settings.api.host, port=settings.api.port, log_config=None, lifespan="on"
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(), name="api-server")
        while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.05)
        if server.started and on_started is not None:
            on_started.set()
        if stop_after_s is not None:
            await asyncio.wait([serving], timeout=stop_after_s)
            server.should_exit = True  # the same orderly path as Ctrl-C
        await serving  # returns after uvicorn handled SIGINT/SIGTERM
    finally:
        await runtime.stop()
