"""Inside a worker process: the camera workers it hosts, and their channel to the hub.

Every frame on the socket is ``(camera_id, payload)``. The hub sends :class:`StartCamera`, then
that camera's commands; the worker answers with the camera's messages, its last one being
:class:`~hub.ingest.messages.WorkerFinished`. Log records travel as ``(None, LogLine)``, from any
thread. When the hub goes away (its end of the socket closes), the process exits at once: nobody
would queue what it wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass
from typing import Any

from hub.ingest.camera_worker import CameraWorker, WorkerSettings, pyav_source_factory
from hub.ingest.forkserver import frame, read_frame
from hub.ingest.messages import LogLine, WorkerCommand, WorkerMessage
from hub.ingest.worker_link import drive_worker
from hub.media.spool import MediaSpool

EXIT_HOST_GONE = 3


@dataclass(frozen=True, slots=True)
class StartCamera:
    settings: WorkerSettings


@dataclass(frozen=True, slots=True)
class ExitProcess:
    """No camera left here: end the process (exit code 0)."""


class _ForwardLogs(logging.Handler):
    """Log records to the hub; safe from any thread (PyAV's readers and remux threads log too)."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self._send = send
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc_text = self._formatter.formatException(record.exc_info) if record.exc_info else None
            self._send(None, LogLine(record.name, record.levelno, record.getMessage(), exc_text))
        except Exception:  # never let logging take the worker down
            self.handleError(record)


def worker_main(sock: socket.socket, log_level: int) -> None:
    """The worker process's entry point."""
    # Ctrl-C reaches the whole process group: the hub stops its workers in order instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(sock, log_level))


async def _serve(sock: socket.socket, log_level: int) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(sock=sock)
    loop_thread = threading.get_ident()

    def send(camera_id: str | None, message: WorkerMessage) -> None:
        data = frame((camera_id, message))
        if threading.get_ident() == loop_thread:
            writer.write(data)
        else:
            loop.call_soon_threadsafe(writer.write, data)

    root = logging.getLogger()
    root.handlers[:] = [_ForwardLogs(send)]
    root.setLevel(log_level)
    queues: dict[str, asyncio.Queue[WorkerCommand]] = {}
    running: set[asyncio.Task[None]] = set()

    async def host(settings: WorkerSettings) -> None:
        camera_id = settings.camera.id
        spool = MediaSpool(settings.spool_root, max_bytes=1)  # only its key-to-path rule is used
        worker = CameraWorker(
            settings,
            emit=lambda message: send(camera_id, message),
            path_for=spool.path_for,
            source_factory=pyav_source_factory(settings.ingest),
        )
        try:
            finished = await drive_worker(worker, queues[camera_id])
        finally:
            queues.pop(camera_id, None)
        send(camera_id, finished)

    while True:
        try:
            camera_id, command = await read_frame(reader)
        except EOFError:
            os._exit(EXIT_HOST_GONE)  # the hub is gone: nothing we write could be queued
        if isinstance(command, StartCamera):
            queues[camera_id] = asyncio.Queue()
            task = asyncio.create_task(host(command.settings), name=f"{camera_id}-host")
            running.add(task)
            task.add_done_callback(running.discard)
        elif isinstance(command, ExitProcess):
            break
        elif camera_id in queues:
            queues[camera_id].put_nowait(command)
    root.handlers.clear()
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
