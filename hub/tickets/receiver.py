"""A stand-in for the grid-management system's webhook, for ``hub demo`` and the tests.

It checks what the real receiver must check (the signature, the idempotency key) and keeps
what it received in memory. ``GridReceiver`` serves it with uvicorn inside the running loop
and can be told to fail the next requests, to exercise the hub's retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hub.db.models import utcnow
from hub.tickets.signing import SIGNATURE_HEADER, SignatureError, verify


@dataclass(frozen=True)
class ReceivedTicket:
    idempotency_key: str
    payload: dict[str, Any]
    body: bytes  # as sent, so a test can check the signature itself
    headers: dict[str, str]
    received_at: datetime


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: str | None


@dataclass
class ReceiverState:
    """What the receiver has seen; shared between the app and whoever drives it."""

    tickets: list[ReceivedTicket] = field(default_factory=list)
    requests: int = 0
    failures: list[_Failure] = field(default_factory=list)

    def fail_next(self, n: int, *, status: int = 500, retry_after: str | None = None) -> None:
        self.failures.extend(_Failure(status, retry_after) for _ in range(n))


def create_receiver_app(secret: bytes, *, state: ReceiverState | None = None) -> FastAPI:
    """The receiver: ``POST /tickets`` (signed, deduped by ``Idempotency-Key``), ``GET /tickets``."""
    app = FastAPI(title="Grid receiver (stand-in)")
    app.state.receiver = receiver = state or ReceiverState()

    @app.post("/tickets")
    async def receive(request: Request) -> JSONResponse:
        receiver.requests += 1
        if receiver.failures:
            failure = receiver.failures.pop(0)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else None
            return JSONResponse({"detail": "simulated failure"}, failure.status, headers=headers)
        body = await request.body()
        try:
            verify(body, request.headers.get(SIGNATURE_HEADER, ""), secret, now=time.time())
        except SignatureError as err:
            return JSONResponse({"detail": str(err)}, 401)
        key = request.headers.get("Idempotency-Key")
        if not key:
            return JSONResponse({"detail": "missing Idempotency-Key"}, 400)
        if any(ticket.idempotency_key == key for ticket in receiver.tickets):
            return JSONResponse({"duplicate": True})
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"detail": "body is not JSON"}, 400)
        receiver.tickets.append(ReceivedTicket(key, payload, body, dict(request.headers), utcnow()))
        return JSONResponse({"duplicate": False})

    @app.get("/tickets")
    async def list_tickets() -> list[dict[str, Any]]:
        return [
            {"idempotency_key": t.idempotency_key, "payload": t.payload, "received_at": t.received_at}
            for t in receiver.tickets
        ]

    return app


class _InProcessServer(uvicorn.Server):
    """uvicorn without its signal handlers: the process hosting it owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class GridReceiver:
    """Runs the receiver on 127.0.0.1 in the current loop; restarts keep the first port."""

    def __init__(self, secret: bytes, *, port: int = 0) -> None:
        self.state = ReceiverState()
        self._app = create_receiver_app(secret, state=self.state)
        self._port = port
        self._server: _InProcessServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        if self._port == 0:
            raise RuntimeError("grid receiver not started yet")
        return f"http://127.0.0.1:{self._port}/tickets"

    @property
    def tickets(self) -> list[ReceivedTicket]:
        return self.state.tickets

    def fail_next(self, n: int, status: int = 500, *, retry_after: str | None = None) -> None:
        """Answer the next ``n`` POSTs with ``status`` (and ``Retry-After`` when given)."""
        self.state.fail_next(n, status=status, retry_after=retry_after)

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("grid receiver already running")
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self._port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = _InProcessServer(config)
        task = asyncio.get_running_loop().create_task(server.serve(), name="grid-receiver")
        while not server.started:
            if task.done():
                try:
                    await task
                except SystemExit as err:  # uvicorn exits when it cannot bind
                    raise OSError(f"grid receiver cannot listen on 127.0.0.1:{self._port}") from err
                raise RuntimeError("grid receiver stopped during start-up")
            await asyncio.sleep(0.01)
        self._port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._task = server, task

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        await task
