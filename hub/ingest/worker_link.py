"""The channel between a camera's host pipeline and its worker, and the loop that drives a worker.

Two links share one contract: :class:`InProcessLink` runs the worker as tasks of the hub's own
event loop (``ingest.isolation: thread``), :class:`hub.ingest.worker_process.ProcessLink` runs it
in a worker process of its own (the default), so one camera's decode cannot stall the API or the
other cameras, and a crash in FFmpeg takes down one camera, not the hub.
"""

from __future__ import annotations

import abc
import asyncio
import logging

from adapters.source import SourceError, SourceUnauthorized
from hub.aio import cancel_and_wait
from hub.ingest.camera_worker import CameraWorker, PathFor, SourceFactory, WorkerSettings
from hub.ingest.messages import (
    CameraEventCommand,
    Outcome,
    StopCommand,
    WorkerCommand,
    WorkerFinished,
    WorkerMessage,
)

log = logging.getLogger(__name__)


class WorkerLink(abc.ABC):
    """One run of one camera worker, seen from the host."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Start the worker. Raises OSError when it cannot be started."""

    @abc.abstractmethod
    def send(self, command: WorkerCommand) -> None:
        """Queue a command for the worker; silently dropped once the worker is gone."""

    @abc.abstractmethod
    async def receive(self) -> WorkerMessage | None:
        """The worker's next message; None when it is gone without saying :class:`WorkerFinished`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """End the worker (killing it if it does not end by itself) and release the channel."""

    @abc.abstractmethod
    def exit_description(self) -> str:
        """How the worker ended, for the camera's status reason ("killed by signal 9")."""


async def drive_worker(worker: CameraWorker, commands: asyncio.Queue[WorkerCommand]) -> WorkerFinished:
    """Run ``worker`` while obeying ``commands``; returns the :class:`WorkerFinished` to send last."""

    async def obey() -> None:
        while True:
            command = await commands.get()
            if isinstance(command, StopCommand):
                worker.stop()
            elif isinstance(command, CameraEventCommand):
                # Counted before it is handled: a start is reported at once, an end that is cut
                # short is settled by the host, which closes every event the worker left open.
                worker.last_command = command.seq
                await worker.on_camera_event(command.event)

    obeying = asyncio.create_task(obey(), name=f"{worker.camera.id}-commands")
    try:
        await worker.run()
        outcome = Outcome.STOPPED if worker.stopping else Outcome.ENDED
        reason = "stopped" if worker.stopping else "stream ended"
    except SourceUnauthorized as err:
        outcome, reason = Outcome.UNAUTHORIZED, str(err)
    except SourceError as err:
        outcome, reason = Outcome.OFFLINE, str(err)
    except Exception as err:  # a bug in one camera's worker must end only that worker
        log.exception("%s: camera worker crashed", worker.camera.id)
        outcome, reason = Outcome.ERROR, f"internal error: {err}"
    finally:
        await cancel_and_wait(obeying)
    return WorkerFinished(outcome, reason, worker.last_command)


class InProcessLink(WorkerLink):
    """The worker as tasks of this event loop (blocking media work still runs in threads)."""

    def __init__(self, settings: WorkerSettings, *, path_for: PathFor, source_factory: SourceFactory) -> None:
        self._messages: asyncio.Queue[WorkerMessage] = asyncio.Queue()
        self._commands: asyncio.Queue[WorkerCommand] = asyncio.Queue()
        self._worker = CameraWorker(
            settings, emit=self._messages.put_nowait, path_for=path_for, source_factory=source_factory
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._drive(), name=f"{self._worker.camera.id}-worker")

    async def _drive(self) -> None:
        self._messages.put_nowait(await drive_worker(self._worker, self._commands))

    def send(self, command: WorkerCommand) -> None:
        if self._task is not None and not self._task.done():
            self._commands.put_nowait(command)

    async def receive(self) -> WorkerMessage | None:
        if self._task is not None and self._task.done() and self._messages.empty():
            return None
        return await self._messages.get()

    async def close(self) -> None:
        await cancel_and_wait(self._task)

    def exit_description(self) -> str:
        return "cancelled"
