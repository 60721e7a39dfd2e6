"""Camera workers in worker processes, seen from the hub.

A :class:`WorkerPool` hosts up to ``ingest.cameras_per_process`` cameras in each worker process
(1 by default: a stuck or crashing decoder then costs one camera a restart, nothing else; more
per process share one interpreter and event loop, for nodes with many cameras and few cores).
Each camera talks through its own :class:`ProcessLink` over its process's socket. A process
whose camera died or hung is killed, and every camera it hosted restarts in a new one. The
worker's log records are re-logged here under their own names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

from hub.ingest.camera_worker import WorkerSettings
from hub.ingest.forkserver import WorkerProcessHandle, frame, read_frame
from hub.ingest.messages import LogLine, WorkerCommand, WorkerFinished, WorkerMessage
from hub.ingest.worker_link import WorkerLink
from hub.ingest.worker_main import ExitProcess, StartCamera, worker_main

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0  # for a process to exit once told to, or once its socket closed


class WorkerProcess:
    """One worker process and its socket; messages are sorted into one queue per camera."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.channels: dict[str, asyncio.Queue[WorkerMessage | None]] = {}
        self.hosted = 0  # cameras ever started here: a process is not refilled once drained
        self.dead = False
        self._process: WorkerProcessHandle | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def has_room(self) -> bool:
        return not self.dead and self.hosted < self.capacity

    async def start(self, name: str) -> None:
        ours, theirs = socket.socketpair()
        level = min(logging.getLogger(n).getEffectiveLevel() for n in ("hub", "adapters", "inference"))
        process = WorkerProcessHandle(
            target=worker_main,
            args=(theirs, level),
            name=name,
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
        asyncio.get_running_loop().add_reader(process.sentinel, self._on_sentinel)
        reader, self._writer = await asyncio.open_connection(sock=ours)
        self._reader_task = asyncio.create_task(self._read(reader), name=f"{name}-reader")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                camera_id, message = await read_frame(reader)
                if isinstance(message, LogLine):
                    message.relog()
                elif (channel := self.channels.get(camera_id)) is not None:
                    channel.put_nowait(message)
        except EOFError:
            pass
        self.dead = True
        await self.exited(STOP_GRACE_S)  # so exit_description() can say how it died
        for channel in self.channels.values():
            channel.put_nowait(None)

    def attach(self, settings: WorkerSettings) -> asyncio.Queue[WorkerMessage | None]:
        channel: asyncio.Queue[WorkerMessage | None] = asyncio.Queue()
        self.channels[settings.camera.id] = channel
        self.hosted += 1
        self.send(settings.camera.id, StartCamera(settings))
        return channel

    def send(self, camera_id: str, command: WorkerCommand | StartCamera | ExitProcess) -> None:
        writer = self._writer
        if writer is not None and not writer.is_closing() and not self.dead:
            writer.write(frame((camera_id, command)))

    async def detach(self, camera_id: str) -> None:
        """The camera is done here; the last one out ends the process."""
        self.channels.pop(camera_id, None)
        if not self.channels and not self.has_room():
            await self.close()

    async def close(self) -> None:
        """Ask the process to exit, and kill it if it does not."""
        self.send("", ExitProcess())
        self.dead = True
        await self.kill(grace_s=STOP_GRACE_S)

    async def kill(self, *, grace_s: float = 0.0) -> None:
        process = self._process
        if process is not None and not await self.exited(grace_s):
            log.warning("camera worker process %s did not exit; killing it", process.pid)
            process.kill()
            await self.exited(STOP_GRACE_S)
        self.dead = True
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _on_sentinel(self) -> None:
        """The sentinel is readable once the process has exited."""
        assert self._process is not None
        asyncio.get_running_loop().remove_reader(self._process.sentinel)
        self._ended.set()

    async def exited(self, within_s: float) -> bool:
        process = self._process
        if process is None or process.exitcode is not None:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended.wait(), within_s)
        return process.exitcode is not None

    def exit_description(self) -> str:
        code = None if self._process is None else self._process.exitcode
        if code is None:
            return "still running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


class WorkerPool:
    """Places cameras in worker processes, ``cameras_per_process`` at most in each."""

    def __init__(self, cameras_per_process: int = 1) -> None:
        if cameras_per_process < 1:
            raise ValueError("cameras_per_process must be at least 1")
        self.cameras_per_process = cameras_per_process
        self.processes: list[WorkerProcess] = []
        self._lock = asyncio.Lock()  # two cameras starting at once share one new process

    async def place(
        self, settings: WorkerSettings
    ) -> tuple[WorkerProcess, asyncio.Queue[WorkerMessage | None]]:
        async with self._lock:
            self.processes = [p for p in self.processes if not p.dead]
            process = next((p for p in self.processes if p.has_room()), None)
            if process is None:
                process = WorkerProcess(self.cameras_per_process)
                name = f"camera-{settings.camera.id}" if self.cameras_per_process == 1 else "cameras"
                await process.start(name)
                self.processes.append(process)
            return process, process.attach(settings)

    async def close(self) -> None:
        """Kill what is left (the supervisor has stopped every camera in order before this)."""
        for process in self.processes:
            await process.kill()
        self.processes.clear()


class ProcessLink(WorkerLink):
    """One camera's channel to the worker process that hosts it."""

    def __init__(self, settings: WorkerSettings, pool: WorkerPool | None = None) -> None:
        self.settings = settings
        self.pool = pool or WorkerPool()
        self._process: WorkerProcess | None = None
        self._channel: asyncio.Queue[WorkerMessage | None] | None = None
        self._finished = False

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        self._process, self._channel = await self.pool.place(self.settings)

    def send(self, command: WorkerCommand) -> None:
        if self._process is not None and not self._finished:
            self._process.send(self.settings.camera.id, command)

    async def receive(self) -> WorkerMessage | None:
        if self._channel is None or self._finished:
            return None
        message = await self._channel.get()
        if isinstance(message, WorkerFinished):
            self._finished = True
        return message

    async def close(self) -> None:
        process = self._process
        if process is None:
            return
        if self._finished:
            await process.detach(self.settings.camera.id)
        else:  # died or hung: the process goes, and with it every camera it hosts
            await process.kill()

    def exit_description(self) -> str:
        return "not started" if self._process is None else self._process.exit_description()
