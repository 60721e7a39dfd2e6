"""The FastAPI application factory: it receives the runtime, it does not build one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from hub import __version__
from hub.api.problems import install_problem_handlers
from hub.api.routes import (
    cameras,
    discovery,
    events,
    health,
    objects,
    ptz,
    recordings,
    regions,
    snapshots,
    tickets,
)
from hub.runtime import HubRuntime

API_PREFIX = "/api/v1"


def create_app(runtime: HubRuntime, *, manage_runtime: bool = True) -> FastAPI:
    """``manage_runtime``: start and stop the runtime with the app (``hub serve``); tests pass False."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(
        title="Sharp Eyes Hub",
        version=__version__,
        summary="One API over every department's cameras: health, events, clips and tickets.",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    for router in (
        health.router,
        cameras.router,
        regions.router,
        events.router,
        tickets.router,
        objects.router,
        discovery.router,
        ptz.router,
        snapshots.router,
        recordings.router,
    ):
        app.include_router(router, prefix=API_PREFIX)

    console = resources.files("hub.console").joinpath("index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(console)

    return app
