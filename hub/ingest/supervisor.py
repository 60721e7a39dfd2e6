"""The supervisor: one pipeline per enabled camera, restarted with back-off when its stream fails.

A camera that cannot be reached is marked ``offline`` with the reason, one that refuses our
credentials ``unauthorized``; neither stops the others. Every attempt is logged once per change,
not once per retry, so a dead camera does not flood the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from adapters.onvif.models import CameraEvent
from adapters.source import SourceError, SourceUnauthorized
from hub.aio import backoff_delay, cancel_and_wait
from hub.config.camera import CameraConfig
from hub.db.models import CameraStatus
from hub.events.retry import until_written
from hub.events.store import EventStore
from hub.ingest.camera_status import CameraStatusStore
from hub.ingest.health import HealthEvent, HealthTracker
from hub.ingest.onvif_events import OnvifEventBridge
from hub.ingest.pipeline import CameraPipeline, PipelineCrashed

log = logging.getLogger(__name__)

PipelineFactory = Callable[[CameraConfig], CameraPipeline]

# Errors from the database while reporting status: logged, never fatal to the camera's loop.
STATUS_ERRORS = (OSError, SQLAlchemyError)
DEGRADED_BELOW = 0.5  # share of the nominal frame rate under which a camera counts as degraded
RECOVERED_AT = 0.8  # hysteresis: back to online only well above the threshold


class Supervisor:
    def __init__(
        self,
        cameras: list[CameraConfig],
        *,
        pipelines: PipelineFactory,
        status: CameraStatusStore,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 60.0,
        frame_time_every_s: float = 5.0,
        events: EventStore | None = None,
        health_hold_s: float = 30.0,
    ) -> None:
        self.cameras = {c.id: c for c in cameras}
        self.make_pipeline = pipelines
        self.status = status
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.frame_time_every_s = frame_time_every_s
        self.events = events
        self.health_hold_s = health_hold_s
        self.health: dict[str, HealthTracker] = {}
        self.pipelines: dict[str, CameraPipeline] = {}
        self.current: dict[str, CameraStatus] = {}
        self.reasons: dict[str, str] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._retiring: set[str] = set()
        self._bridges: dict[str, OnvifEventBridge] = {}
        self._stopping = False

    async def start(self) -> None:
        """Open the YAML cameras; :meth:`reconcile` adds the registry's."""
        for cam in list(self.cameras.values()):
            if cam.enabled:
                self._launch(cam)

    def _launch(self, cam: CameraConfig) -> None:
        self.cameras[cam.id] = cam
        self.health.setdefault(cam.id, HealthTracker(hold_s=self.health_hold_s))
        self._wake[cam.id] = asyncio.Event()
        self._tasks[cam.id] = asyncio.create_task(self._supervise(cam), name=f"camera-{cam.id}")

    async def reconcile(self, cameras: list[CameraConfig]) -> None:
        """Make the running set match ``cameras``: open new ones, close removed or disabled ones,
        and reopen those whose settings changed (URL, credentials, analysis)."""
        wanted = {c.id: c for c in cameras if c.enabled}
        for camera_id in list(self._tasks):
            new = wanted.get(camera_id)
            if new is None or new != self.cameras.get(camera_id):
                reason = "removed or disabled" if new is None else "settings changed"
                await self._retire(camera_id, reason)
        for camera_id, cam in wanted.items():
            if camera_id not in self._tasks and not self._stopping:
                log.info("%s: opening (%s)", camera_id, "registry")
                self._launch(cam)

    async def _retire(self, camera_id: str, reason: str) -> None:
        """Stop one camera's pipeline in order (its open events end, its clip is written)."""
        log.info("%s: closing: %s", camera_id, reason)
        self._retiring.add(camera_id)
        bridge = self._bridges.pop(camera_id, None)
        if bridge is not None:
            await bridge.stop()
        pipeline = self.pipelines.get(camera_id)
        if pipeline is not None:
            pipeline.stop()
        self._wake[camera_id].set()
        task = self._tasks.pop(camera_id)
        _done, pending = await asyncio.wait([task], timeout=30)
        if pending:
            log.warning("%s: did not stop in 30 s; cancelling", camera_id)
            await cancel_and_wait(task)
        self.pipelines.pop(camera_id, None)
        self.cameras.pop(camera_id, None)
        self._retiring.discard(camera_id)

    async def stop(self) -> None:
        """Stop every pipeline in order: events end, clips in progress are written."""
        self._stopping = True
        for bridge in list(self._bridges.values()):
            await bridge.stop()
        self._bridges.clear()
        for pipeline in self.pipelines.values():
            pipeline.stop()
        for wake in self._wake.values():
            wake.set()
        tasks = list(self._tasks.values())
        _done, pending = await asyncio.wait(tasks, timeout=30) if tasks else (set(), set())
        for task in pending:
            log.warning("%s: did not stop in 30 s; cancelling", task.get_name())
            await cancel_and_wait(task)

    def _ending(self, camera_id: str) -> bool:
        return self._stopping or camera_id in self._retiring

    async def _supervise(self, cam: CameraConfig) -> None:
        failures = 0
        pipeline = self.make_pipeline(cam)  # one per camera: it outlives its workers
        self.pipelines[cam.id] = pipeline
        while not self._ending(cam.id):
            came_online = False

            async def online() -> None:
                nonlocal came_online, failures
                came_online, failures = True, 0
                await self._report(
                    cam.id, CameraStatus.ONLINE, "", reconnected=bool(self.reasons.get(cam.id))
                )
                self.reasons[cam.id] = ""

            if cam.onvif_url is not None and cam.id not in self._bridges:
                await self._start_bridge(cam)
            await self._report(cam.id, CameraStatus.CONNECTING, self.reasons.get(cam.id, ""))
            ticker = asyncio.create_task(self._tick_frame_time(cam.id, pipeline), name=f"{cam.id}-ticker")
            status, reason = CameraStatus.OFFLINE, "stream ended"
            try:
                await pipeline.run(online)
            except SourceUnauthorized as err:
                status, reason = CameraStatus.UNAUTHORIZED, str(err)
            except SourceError as err:
                status, reason = CameraStatus.OFFLINE, str(err)
            except PipelineCrashed as err:  # already logged, with the worker's traceback if any
                status, reason = CameraStatus.ERROR, str(err)
            except Exception as err:  # a bug in one pipeline must not take the others down
                log.exception("%s: pipeline crashed", cam.id)
                status, reason = CameraStatus.ERROR, f"internal error: {err}"
            finally:
                await cancel_and_wait(ticker)
            if self._ending(cam.id):
                if self._stopping:
                    await self._report(cam.id, CameraStatus.OFFLINE, "hub stopped")
                return
            failures = 0 if came_online else failures + 1
            if self.reasons.get(cam.id) != reason:
                log.warning("%s: %s: %s", cam.id, status, reason)
            self.reasons[cam.id] = reason
            await self._report(cam.id, status, reason)
            wake = self._wake[cam.id]
            with contextlib.suppress(TimeoutError):  # the back-off ran out, or we were told to stop
                await asyncio.wait_for(wake.wait(), timeout=self._delay(failures, status))

    async def _start_bridge(self, cam: CameraConfig) -> None:
        async def deliver(event: CameraEvent) -> None:
            pipeline = self.pipelines.get(cam.id)
            if pipeline is not None:
                await pipeline.on_camera_event(event)

        bridge = OnvifEventBridge(
            cam, deliver, retry_initial_s=self.retry_initial_s, retry_max_s=self.retry_max_s
        )
        self._bridges[cam.id] = bridge
        await bridge.start()

    def _delay(self, failures: int, status: CameraStatus) -> float:
        # Repeated bad logins can lock the account on some cameras: back off four times as long.
        factor = 4.0 if status is CameraStatus.UNAUTHORIZED else 1.0
        return backoff_delay(failures, initial_s=self.retry_initial_s, max_s=self.retry_max_s, factor=factor)

    async def _tick_frame_time(self, camera_id: str, pipeline: CameraPipeline) -> None:
        last = None
        while True:
            await asyncio.sleep(self.frame_time_every_s)
            await self._check_rate(camera_id, pipeline)
            await self._raise(camera_id, self.health[camera_id].tick(time.time()))
            seen = pipeline.stats.last_packet_at
            if seen is not None and seen != last:
                last = seen
                try:
                    await self.status.note_frame_time(camera_id, seen)
                except STATUS_ERRORS:
                    log.warning("%s: could not record the last frame time", camera_id, exc_info=True)

    async def _check_rate(self, camera_id: str, pipeline: CameraPipeline) -> None:
        """Online but delivering well under its nominal frame rate: degraded (weak uplink)."""
        stats, nominal = pipeline.stats, pipeline.stats.nominal_fps
        state = self.current.get(camera_id)
        if not nominal or stats.fps <= 0 or state not in (CameraStatus.ONLINE, CameraStatus.DEGRADED):
            return
        if state is CameraStatus.ONLINE and stats.fps < DEGRADED_BELOW * nominal:
            reason = f"frame rate {stats.fps:.1f} fps, nominal {nominal:.1f}"
            await self._report(camera_id, CameraStatus.DEGRADED, reason)
        elif state is CameraStatus.DEGRADED and stats.fps >= RECOVERED_AT * nominal:
            await self._report(camera_id, CameraStatus.ONLINE, "")

    async def _report(
        self, camera_id: str, status: CameraStatus, reason: str, *, reconnected: bool = False
    ) -> None:
        try:
            await self.status.set_status(camera_id, status, reason, reconnected=reconnected)
        except Exception:  # the database may be down; the camera keeps streaming
            log.exception("%s: could not record status %s", camera_id, status)
        self.current[camera_id] = status
        await self._raise(camera_id, self.health[camera_id].observe(status, reason, time.time()))

    async def _raise(self, camera_id: str, changes: list[HealthEvent]) -> None:
        events = self.events
        if events is None or camera_id in self._retiring:
            return
        for change in changes:
            await until_written(
                functools.partial(events.status_event, camera_id, change),
                what=f"{camera_id}: recording the {change.kind} event",
            )

    def live(self) -> dict[str, dict[str, Any]]:
        """In-memory stream figures for the API."""
        now = time.time()
        out: dict[str, dict[str, Any]] = {}
        for camera_id, pipeline in self.pipelines.items():
            stats = pipeline.stats.as_dict()
            last = pipeline.stats.last_packet_at
            stats["seconds_since_packet"] = None if last is None else round(now - last, 1)
            stats["reason"] = self.reasons.get(camera_id, "")
            stats["uptime_24h"] = round(self.health[camera_id].uptime(now), 4)
            out[camera_id] = stats
        return out
