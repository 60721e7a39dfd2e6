"""A camera worker in a process of its own, talking to the hub over a socket pair.

Workers are forked from a ``forkserver`` that has already imported PyAV, OpenCV and the worker
code, so a camera starts in milliseconds and shares those pages with its siblings; forking the
hub itself is unsafe (it runs threads and holds database connections). Messages are length-
prefixed pickles (both ends are this code). The worker's log records travel to the hub, which
logs them under the same names. When the hub goes away (its end of the socket closes), the worker
exits at once: nobody would queue what it wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
import multiprocessing.context
import os
import pickle
import signal
import socket
import struct
import threading
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import set_spawning_popen
from typing import Any

from hub.ingest.camera_worker import CameraWorker, WorkerSettings, pyav_source_factory
from hub.ingest.messages import LogLine, WorkerCommand, WorkerMessage
from hub.ingest.worker_link import WorkerLink, drive_worker
from hub.media.spool import MediaSpool

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")
MAX_MESSAGE = 16 << 20  # a message is small; anything bigger is a broken stream
EXIT_HOST_GONE = 3
_STOP_GRACE_S = 5.0  # after the worker said it finished, or after a kill request
_context: multiprocessing.context.ForkServerContext | None = None


def _forkserver() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])  # av, cv2, numpy and the worker, imported once
        _context = ctx
    return _context


class _Popen(popen_forkserver.Popen):
    """The fork server's launch, minus re-running the hub's ``__main__`` in each worker.

    CPython has every forkserver child import the parent's main module (for ``hub serve``, the CLI
    with FastAPI, uvicorn and SQLAlchemy): half a second of CPU and ~25 MB per camera, for code a
    worker never runs. Its target lives in this module, which the fork server has preloaded.
    """

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)  # the child's sentinel of its parent, as in CPython
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _WorkerProcess(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


def frame(obj: WorkerMessage | WorkerCommand) -> bytes:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next object; raises EOFError when the other end closed (mid-message included)."""
    try:
        (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
        if size > MAX_MESSAGE:
            raise EOFError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
        return pickle.loads(await reader.readexactly(size))
    except (asyncio.IncompleteReadError, ConnectionError) as err:
        raise EOFError(str(err)) from err


class ProcessLink(WorkerLink):
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._process: multiprocessing.process.BaseProcess | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        ours, theirs = socket.socketpair()
        level = min(logging.getLogger(n).getEffectiveLevel() for n in ("hub", "adapters", "inference"))
        _forkserver()  # sets the preload before the fork server first starts
        process = _WorkerProcess(
            target=worker_main,
            args=(theirs, self.settings, level),
            name=f"camera-{self.settings.camera.id}",
            daemon=True,  # ended with the hub, whatever way the hub ends
        )
        try:
            await asyncio.to_thread(process.start)  # the first start launches the fork server
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._process = process
        self._reader, self._writer = await asyncio.open_connection(sock=ours)

    def send(self, command: WorkerCommand) -> None:
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(frame(command))

    async def receive(self) -> WorkerMessage | None:
        if self._reader is None:
            return None
        try:
            message: WorkerMessage = await read_frame(self._reader)
        except EOFError:
            if self._process is not None:
                await self._exited(_STOP_GRACE_S)  # so exit_description() can say how it died
            return None
        return message

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        process = self._process
        if process is None:
            return
        if not await self._exited(_STOP_GRACE_S):
            log.warning("%s: camera worker %s did not exit; killing it", self.settings.camera.id, process.pid)
            process.kill()
            await self._exited(_STOP_GRACE_S)

    async def _exited(self, within_s: float) -> bool:
        process = self._process
        assert process is not None
        if process.exitcode is not None:
            return True
        loop, ended = asyncio.get_running_loop(), asyncio.Event()
        loop.add_reader(process.sentinel, ended.set)  # readable once the process has exited
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), within_s)
        finally:
            loop.remove_reader(process.sentinel)
        return process.exitcode is not None

    def exit_description(self) -> str:
        code = None if self._process is None else self._process.exitcode
        if code is None:
            return "still running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid


# --- in the worker process ----------------------------------------------------------------------


class _ForwardLogs(logging.Handler):
    """Log records to the hub; safe from any thread (PyAV's readers and remux threads log too)."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self._send = send
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc_text = self._formatter.formatException(record.exc_info) if record.exc_info else None
            self._send(LogLine(record.name, record.levelno, record.getMessage(), exc_text))
        except Exception:  # never let logging take the worker down
            self.handleError(record)


def worker_main(sock: socket.socket, settings: WorkerSettings, log_level: int) -> None:
    """The worker process's entry point."""
    # Ctrl-C reaches the whole process group: the hub stops its workers in order instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(sock, settings, log_level))


async def _serve(sock: socket.socket, settings: WorkerSettings, log_level: int) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(sock=sock)
    loop_thread = threading.get_ident()

    def emit(message: WorkerMessage) -> None:
        data = frame(message)
        if threading.get_ident() == loop_thread:
            writer.write(data)
        else:
            loop.call_soon_threadsafe(writer.write, data)

    root = logging.getLogger()
    root.handlers[:] = [_ForwardLogs(emit)]
    root.setLevel(log_level)
    spool = MediaSpool(settings.spool_root, max_bytes=1)  # only its key-to-path rule is used here
    worker = CameraWorker(
        settings, emit=emit, path_for=spool.path_for, source_factory=pyav_source_factory(settings.ingest)
    )
    commands: asyncio.Queue[WorkerCommand] = asyncio.Queue()

    async def listen() -> None:
        while True:
            try:
                commands.put_nowait(await read_frame(reader))
            except EOFError:
                os._exit(EXIT_HOST_GONE)  # the hub is gone: nothing we write could be queued

    listener = asyncio.create_task(listen(), name="host-commands")
    finished = await drive_worker(worker, commands)
    root.handlers.clear()  # from here on the socket closes; later records would be lost anyway
    writer.write(frame(finished))
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    listener.cancel()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
