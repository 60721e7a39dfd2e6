"""One camera's pipeline as the hub sees it: a camera worker, and the shared work it reports.

The worker (:mod:`hub.ingest.camera_worker`, usually in a process of its own) records and
analyses; this host side turns its messages into database rows, spool entries and uploads, one
message at a time and in order, so an event row always exists before its clip is attached. When
the worker dies or hangs, the host closes the events it left open, marks their clips failed (each
still gets its ticket) and raises :class:`PipelineCrashed`; the supervisor starts a new worker.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.onvif.models import CameraEvent
from adapters.source import SourceError, SourceUnauthorized
from hub.config.camera import CameraConfig
from hub.events.retry import until_written
from hub.events.store import EventStore
from hub.ingest.camera_worker import camera_transition
from hub.ingest.messages import (
    CameraEventCommand,
    ClipFailed,
    ClipWritten,
    EventEnded,
    EventStarted,
    LogLine,
    Outcome,
    SegmentWritten,
    StatsReport,
    StopCommand,
    StreamOnline,
    WorkerFinished,
    WorkerMessage,
)
from hub.ingest.stats import StreamStats
from hub.ingest.worker_link import WorkerLink
from hub.media.spool import MediaSpool
from hub.media.uploader import MediaUploader
from hub.recording.segment_index import add_segment

log = logging.getLogger(__name__)

LinkFactory = Callable[[CameraConfig], WorkerLink]


class PipelineCrashed(Exception):
    """The camera worker died, hung or failed internally; the message says how."""


@dataclass(slots=True)
class PipelineContext:
    """Collaborators shared by every camera's pipeline."""

    events: EventStore
    spool: MediaSpool
    uploader: MediaUploader
    links: LinkFactory
    heartbeat_timeout_s: float = 10.0  # silence after which a worker counts as hung


class CameraPipeline:
    def __init__(self, camera: CameraConfig, ctx: PipelineContext) -> None:
        self.camera = camera
        self.ctx = ctx
        self.stats = StreamStats()
        self._link: WorkerLink | None = None
        self._stopping = False
        self._seq = 0
        self._unhandled: list[CameraEventCommand] = []  # sent, not yet reported handled
        self._open: dict[str, float] = {}  # event id -> best score, opened by the worker
        self._clip_pending: set[str] = set()  # recording events whose clip has not come yet
        self._direct: dict[str, str] = {}  # ONVIF key -> event id, recorded here with no worker

    @property
    def worker_pid(self) -> int | None:
        pid: int | None = getattr(self._link, "pid", None)
        return pid

    def stop(self) -> None:
        """Ask :meth:`run` to finish: the worker ends open events and writes clips in progress."""
        self._stopping = True
        if self._link is not None:
            self._link.send(StopCommand())

    async def run(self, on_online: Callable[[], Awaitable[None]]) -> None:
        """Until the stream fails (raises :class:`~adapters.source.SourceError`), the worker
        crashes (:class:`PipelineCrashed`) or :meth:`stop`. Runs again after a failure."""
        self.stats = StreamStats()
        link = self.ctx.links(self.camera)
        try:
            await link.start()
        except OSError as err:
            raise PipelineCrashed(f"camera worker could not start: {err}") from err
        self._link = link
        if self._stopping:
            link.send(StopCommand())
        finished: WorkerFinished | None = None
        failure = ""
        try:
            finished, failure = await self._follow(link, on_online)
        finally:
            self._link = None
            await link.close()
            if finished is None and not failure:
                failure = f"camera worker ended ({link.exit_description()})"
            await self._settle(finished, failure)
        if finished is None:
            raise PipelineCrashed(failure)
        if finished.outcome is Outcome.UNAUTHORIZED:
            raise SourceUnauthorized(finished.reason)
        if finished.outcome is Outcome.OFFLINE:
            raise SourceError(finished.reason)
        if finished.outcome is Outcome.ERROR:
            raise PipelineCrashed(finished.reason)

    async def _follow(
        self, link: WorkerLink, on_online: Callable[[], Awaitable[None]]
    ) -> tuple[WorkerFinished | None, str]:
        timeout = self.ctx.heartbeat_timeout_s
        while True:
            try:
                message = await asyncio.wait_for(link.receive(), timeout=timeout)
            except TimeoutError:
                log.error("%s: camera worker silent for %g s; restarting it", self.camera.id, timeout)
                return None, f"camera worker hung (silent for {timeout:g} s)"
            if message is None:
                reason = f"camera worker died ({link.exit_description()})"
                log.error("%s: %s", self.camera.id, reason)
                return None, reason
            if isinstance(message, WorkerFinished):
                return message, ""
            await self._handle(message, on_online)

    async def _handle(self, message: WorkerMessage, on_online: Callable[[], Awaitable[None]]) -> None:
        cam_id, events = self.camera.id, self.ctx.events
        match message:
            case StatsReport(stats=stats, last_command=last):
                self.stats = stats
                self._unhandled = [c for c in self._unhandled if c.seq > last]
            case StreamOnline():
                await on_online()
            case EventStarted(event_id=event_id, transition=transition, recording=recording):
                await until_written(
                    lambda: events.open(cam_id, transition, recording=recording, event_id=event_id),
                    what=f"{cam_id}: recording the start of a {transition.kind} event",
                )
                self._open[event_id] = transition.score
                if recording:
                    self._clip_pending.add(event_id)
            case EventEnded(event_id=event_id, ended_wallclock=ended, snapshot=snapshot, score=score):
                self._open.pop(event_id, None)
                await until_written(
                    lambda: events.close(event_id, ended, snapshot=snapshot, score=score),
                    what=f"{cam_id}: recording the end of event {event_id}",
                )
                for key in snapshot or ():
                    self._enqueue(key, "image/jpeg", {"camera": cam_id, "event": event_id})
            case ClipWritten(event_ids=event_ids, key=key, facts=facts, metadata=metadata):
                self._clip_pending.difference_update(event_ids)
                await until_written(
                    lambda: events.attach_clip(event_ids, key, facts),
                    what=f"{cam_id}: recording clip {key}",
                )
                self._enqueue(key, "video/mp4", metadata)
            case ClipFailed(event_ids=event_ids, reason=reason):
                self._clip_pending.difference_update(event_ids)
                await until_written(
                    lambda: events.clip_failed(event_ids, reason), what=f"{cam_id}: recording a failed clip"
                )
            case SegmentWritten(key=key, facts=facts, end_wallclock=end, metadata=metadata):
                indexed = await until_written(
                    lambda: add_segment(
                        events.sessions, camera_id=cam_id, key=key, facts=facts, end_wallclock=end
                    ),
                    what=f"{cam_id}: indexing segment {key}",
                )
                if indexed:
                    self._enqueue(key, "video/mp4", metadata)
                else:  # the camera was deleted meanwhile
                    self.ctx.spool.path_for(key).unlink(missing_ok=True)
            case LogLine():
                message.relog()

    def _enqueue(self, key: str, content_type: str, metadata: dict[str, str]) -> None:
        try:
            self.ctx.spool.enqueue(key, content_type=content_type, metadata=metadata)
        except OSError:  # the row says "spooled": a missing file surfaces as a failed upload
            log.exception("%s: %s could not be queued for upload", self.camera.id, key)
            return
        self.ctx.uploader.wake()

    async def _settle(self, finished: WorkerFinished | None, failure: str) -> None:
        """After the worker: close what it left open, and record camera events it never saw."""
        events, now = self.ctx.events, time.time()
        reason = failure or "the camera worker ended before writing it"
        pending = sorted(self._clip_pending)
        if pending:
            await until_written(
                lambda: events.clip_failed(pending, reason), what=f"{self.camera.id}: failing unwritten clips"
            )
            self._clip_pending.clear()
        for event_id, score in list(self._open.items()):
            await until_written(
                functools.partial(events.close, event_id, now, snapshot=None, score=score),
                what=f"{self.camera.id}: closing event {event_id} left open by the worker",
            )
        self._open.clear()
        last = finished.last_command if finished is not None else 0
        missed = [c for c in self._unhandled if c.seq > last]
        self._unhandled.clear()
        for command in missed:
            await self._record_directly(command.event)

    async def on_camera_event(self, event: CameraEvent) -> None:
        """A camera-side ONVIF event: to the worker while one runs (it has the video for a clip),
        else recorded here without a clip."""
        link = self._link
        if link is None or f"onvif-{event.topic}" in self._direct:
            await self._record_directly(event)  # an event opened here also ends here
            return
        self._seq += 1
        command = CameraEventCommand(self._seq, event)
        self._unhandled.append(command)
        link.send(command)

    async def _record_directly(self, event: CameraEvent) -> None:
        transition = camera_transition(event)
        known = self._direct.get(transition.key)
        if event.state == (known is not None):
            return
        events, cam_id = self.ctx.events, self.camera.id
        if event.state:
            self._direct[transition.key] = await until_written(
                lambda: events.open(cam_id, transition, recording=False),
                what=f"{cam_id}: recording the start of a {transition.kind} event",
            )
        elif known is not None:
            del self._direct[transition.key]
            await until_written(
                lambda: events.close(known, transition.timestamp, snapshot=None, score=transition.score),
                what=f"{cam_id}: recording the end of event {known}",
            )
