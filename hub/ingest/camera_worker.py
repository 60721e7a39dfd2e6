"""One camera's media work: stream in; ring buffer, motion, rule, clips, segments, snapshots out.

Packets of the recorded stream feed the clip assembler and the segment cutter; frames of the
analysed stream (the sub-stream when the camera has one) go through a one-slot mailbox to the
analysis task, so slow analysis drops stale frames instead of delaying recording. Blocking work
(motion detection, remuxing, JPEG encoding) runs in threads. Media files go straight to their
spool paths; everything else is reported to the host as :mod:`hub.ingest.messages`, so this code
never touches the database and runs the same in a worker process or in the hub's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.onvif.models import CameraEvent
from adapters.rtsp.pyav_source import PyAVStreamSource
from adapters.source import BGRImage, DecodedFrame, EncodedPacket, StreamSource
from hub.aio import cancel_and_wait, spawn
from hub.config.camera import CameraConfig
from hub.config.ingest import IngestSettings
from hub.config.motion import MotionSettings
from hub.config.recording import RecordingSettings
from hub.events import keys
from hub.ingest.credentials import with_credentials
from hub.ingest.messages import (
    ClipFailed,
    ClipWritten,
    EventEnded,
    EventStarted,
    SegmentWritten,
    StatsReport,
    StreamOnline,
    WorkerMessage,
)
from hub.ingest.snapshots import write_snapshot
from hub.ingest.stats import StreamStats
from hub.recording.clips import ClipAssembler, ClipJob, ClipPolicy
from hub.recording.remux import write_mp4
from hub.recording.ring_buffer import PacketRingBuffer
from hub.recording.segments import SegmentCutter, SegmentJob
from inference.detector import Detection
from inference.motion import MotionDetector, MotionParams
from inference.motion_rule import MotionRule, MotionRuleParams
from inference.privacy import apply_privacy_masks
from inference.rules import Phase, RuleEvent, Severity

log = logging.getLogger(__name__)

# ONVIF topic -> (event kind, severity): a covered or turned camera needs someone soon.
ONVIF_KINDS: dict[str, tuple[str, Severity]] = {
    "motion": ("camera_motion", Severity.YELLOW),
    "tamper": ("tamper", Severity.ORANGE),
}
STATS_EVERY_S = 1.0  # also the heartbeat the host watches

SourceFactory = Callable[[str, CameraConfig, float | None], StreamSource]
Emit = Callable[[WorkerMessage], None]
PathFor = Callable[[str], Path]


def pyav_source_factory(ingest: IngestSettings) -> SourceFactory:
    def make(url: str, camera: CameraConfig, analysis_fps: float | None) -> StreamSource:
        return PyAVStreamSource(
            url,
            transport=str(camera.transport),
            analysis_fps=analysis_fps,
            open_timeout_s=ingest.open_timeout_s,
            stall_timeout_s=ingest.stall_timeout_s,
        )

    return make


def camera_transition(event: CameraEvent) -> RuleEvent:
    """A camera-side ONVIF event as a rule transition, timed by the hub's clock (camera clocks drift)."""
    kind, severity = ONVIF_KINDS[event.topic]
    phase = Phase.START if event.state else Phase.END
    return RuleEvent(phase, f"onvif-{event.topic}", kind, severity, time.time(), score=1.0)


@dataclass(slots=True)
class WorkerSettings:
    """Everything a worker needs, picklable so it can cross into a worker process."""

    camera: CameraConfig
    recording: RecordingSettings
    motion: MotionSettings
    ingest: IngestSettings
    spool_root: Path


@dataclass(slots=True)
class _OpenEvent:
    id: str
    started: float
    best_score: float
    best_image: BGRImage | None


class CameraWorker:
    def __init__(
        self, settings: WorkerSettings, *, emit: Emit, path_for: PathFor, source_factory: SourceFactory
    ) -> None:
        self.camera = camera = settings.camera
        self.emit = emit
        self.path_for = path_for
        self.source_factory = source_factory
        rec, m = settings.recording, settings.motion
        self.analysis_fps = camera.analysis_fps or m.analysis_fps
        self.stats = StreamStats()
        self._ring = PacketRingBuffer(max_seconds=rec.ring_buffer_s, max_bytes=rec.ring_buffer_bytes)
        self._clips = ClipAssembler(
            ClipPolicy(rec.pre_roll_s, rec.post_roll_s, rec.max_clip_s, rec.merge_gap_s), self._ring
        )
        continuous = rec.continuous if camera.continuous is None else camera.continuous
        self._segments = SegmentCutter(rec.segment_s) if continuous else None
        self._detector = MotionDetector(
            MotionParams(
                downscale_width=m.downscale_width,
                threshold=m.threshold,
                min_area_fraction=m.min_area_fraction,
            )
        )
        self._rule = MotionRule(
            MotionRuleParams(start_frames=m.start_frames, end_quiet_s=m.end_quiet_s, warmup_s=m.warmup_s)
        )
        self._open: dict[str, _OpenEvent] = {}
        self._mailbox: DecodedFrame | None = None
        self._frame_ready = asyncio.Event()
        self._writes: set[asyncio.Task[Any]] = set()
        self._sources: list[StreamSource] = []
        self._stopping = False
        self._running = False  # between the stream opening and the end of _finish
        self._last_image: BGRImage | None = None
        self.last_command = 0  # the newest camera event command handled (see drive_worker)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Ask :meth:`run` to finish: open events end, clips in progress are written."""
        self._stopping = True
        self._frame_ready.set()
        for source in self._sources:
            spawn(source.close(), name=f"{self.camera.id}-close", tasks=self._writes)

    async def run(self) -> None:
        """Until the stream fails (raises :class:`~adapters.source.SourceError`) or :meth:`stop`."""
        cam = self.camera
        main_url = with_credentials(cam.url, cam.username, cam.password)
        record = self.source_factory(main_url, cam, None if cam.sub_url else self.analysis_fps)
        self._sources = [record]
        if cam.sub_url:
            sub_url = with_credentials(cam.sub_url, cam.username, cam.password)
            self._sources.append(self.source_factory(sub_url, cam, self.analysis_fps))
        analysis = asyncio.create_task(self._analyse(), name=f"{cam.id}-analysis")
        reporter = asyncio.create_task(self._report_stats(), name=f"{cam.id}-stats")
        try:
            async with contextlib.AsyncExitStack() as stack:
                for source in self._sources:
                    if self._stopping:
                        return
                    await stack.enter_async_context(source)
                    info = source.info
                    if source is record and info is not None:
                        self.stats.width, self.stats.height = info.width, info.height
                        self.stats.codec, self.stats.nominal_fps = info.codec, info.average_fps
                self._running = True
                readers = [
                    asyncio.create_task(self._read(s, s is record), name=f"{cam.id}-read-{i}")
                    for i, s in enumerate(self._sources)
                ]
                try:
                    done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()  # re-raise the stream's SourceError
                finally:
                    for task in readers:
                        task.cancel()
                    await asyncio.gather(*readers, return_exceptions=True)
        finally:
            await cancel_and_wait(analysis)
            await self._finish()
            await cancel_and_wait(reporter)
            self._send_stats()

    async def _read(self, source: StreamSource, records: bool) -> None:
        announced = False
        async for item in source:
            if isinstance(item, EncodedPacket):
                if not records:
                    continue
                if not announced:
                    announced = True
                    self.emit(StreamOnline())
                    self._send_stats()
                self.stats.on_packet(item.size, item.wallclock)
                self.stats.width, self.stats.height = item.stream.width, item.stream.height
                for job in self._clips.on_packet(item):
                    spawn(self._write_clip(job), name=f"{self.camera.id}-clip", tasks=self._writes)
                for segment in self._segments.on_packet(item) if self._segments else ():
                    spawn(self._write_segment(segment), name=f"{self.camera.id}-segment", tasks=self._writes)
            else:
                self._mailbox = item  # newest frame wins: stale frames are useless for analysis
                self._frame_ready.set()
        if not self._stopping:
            log.info("%s: stream ended", self.camera.id)

    async def _report_stats(self) -> None:
        while True:
            await asyncio.sleep(STATS_EVERY_S)
            self._send_stats()

    def _send_stats(self) -> None:
        ring, stats = self._ring, self.stats
        stats.ring_seconds, stats.ring_bytes = ring.seconds, ring.bytes
        stats.ring_starts_on_keyframe = ring.starts_on_keyframe
        self.emit(StatsReport(stats, self.last_command))

    async def _analyse(self) -> None:
        while not self._stopping:
            await self._frame_ready.wait()
            self._frame_ready.clear()
            frame, self._mailbox = self._mailbox, None
            if frame is None:
                continue
            image, detections = await asyncio.to_thread(self._look, frame.image, frame.wallclock)
            self._last_image = image
            self.stats.frames_analysed += 1
            for transition in self._rule.evaluate(detections, frame.wallclock):
                await self._on_transition(transition, image)

    def _look(self, image: BGRImage, timestamp: float) -> tuple[BGRImage, list[Detection]]:
        """Worker thread: black out the privacy masks, then detect. Snapshots use the masked image."""
        if self.camera.privacy_masks:
            image = apply_privacy_masks(image, self.camera.privacy_masks)
        return image, self._detector.detect(image, timestamp)

    async def on_camera_event(self, event: CameraEvent) -> None:
        """A camera-side ONVIF event: motion or tamper turned on or off."""
        transition = camera_transition(event)
        if event.state == (transition.key in self._open):
            return  # Initialized with the state we already know, or a repeat
        await self._on_transition(transition, self._last_image)

    async def _on_transition(self, transition: RuleEvent, image: BGRImage | None) -> None:
        if transition.phase is Phase.START:
            event_id = str(uuid.uuid4())
            recording = self._running  # no stream now: the event is kept without a clip
            self.emit(EventStarted(event_id, transition, recording))
            self._open[transition.key] = _OpenEvent(event_id, transition.timestamp, transition.score, image)
            if recording:
                self._clips.event_started(event_id, transition.timestamp)
            self.stats.events += 1
            return
        current = self._open.get(transition.key)
        if current is None:
            return
        if transition.phase is Phase.UPDATE:
            if transition.score >= current.best_score and image is not None:
                current.best_score, current.best_image = transition.score, image
            return
        del self._open[transition.key]
        self._clips.event_ended(current.id, transition.timestamp)
        snapshot = await self._write_snapshot(current)
        self.emit(EventEnded(current.id, transition.timestamp, snapshot, current.best_score))

    async def _write_snapshot(self, event: _OpenEvent) -> tuple[str, str] | None:
        if event.best_image is None:
            return None
        started = datetime.fromtimestamp(event.started, UTC)
        snap = keys.snapshot_key(self.camera.id, started, event.id)
        thumb = keys.thumbnail_key(self.camera.id, started, event.id)
        try:
            paths = self.path_for(snap), self.path_for(thumb)
            await asyncio.to_thread(write_snapshot, event.best_image, *paths)
        except (OSError, ValueError):
            log.exception("%s: snapshot of event %s could not be written", self.camera.id, event.id)
            return None
        return snap, thumb

    async def _write_clip(self, job: ClipJob) -> None:
        started = datetime.fromtimestamp(job.packets[0].wallclock, UTC)
        key = keys.clip_key(self.camera.id, started, job.clip_id)
        event_ids = tuple(job.event_ids)
        try:
            facts = await asyncio.to_thread(write_mp4, job.packets, self.path_for(key))
        except Exception as err:  # a broken clip must still let the event's ticket go out
            log.exception("%s: clip for event(s) %s could not be written", self.camera.id, job.event_ids)
            self.emit(ClipFailed(event_ids, str(err)))
            return
        meta = {
            "camera": self.camera.id,
            "event": job.clip_id,
            "start": started.isoformat(),
            "end": datetime.fromtimestamp(facts.end_wallclock, UTC).isoformat(),
            "sha256": facts.sha256,
        }
        self.emit(ClipWritten(event_ids, key, facts, meta))
        log.info(
            "%s: clip %s written (%.1f s, %d frames)", self.camera.id, key, facts.duration_s, facts.frames
        )

    async def _write_segment(self, job: SegmentJob) -> None:
        started = datetime.fromtimestamp(job.start_wallclock, UTC)
        key = keys.segment_key(self.camera.id, started)
        try:
            facts = await asyncio.to_thread(write_mp4, job.packets, self.path_for(key))
        except Exception:  # one broken segment must not stop the recording
            log.exception("%s: segment %s could not be written", self.camera.id, key)
            return
        meta = {
            "camera": self.camera.id,
            "start": started.isoformat(),
            "end": datetime.fromtimestamp(job.end_wallclock, UTC).isoformat(),
            "sha256": facts.sha256,
        }
        self.emit(SegmentWritten(key, facts, job.end_wallclock, meta))
        log.debug("%s: segment %s written (%.1f s)", self.camera.id, key, facts.duration_s)

    async def _finish(self) -> None:
        """End open events and write clips in progress; runs even when the stream failed."""
        # A stalled stream is noticed seconds late: its events end with the last video, not then.
        last = self.stats.last_packet_at
        now = time.time() if last is None else min(time.time(), last)
        for transition in self._rule.flush(now):
            await self._on_transition(transition, None)
        for key in [k for k in self._open if k.startswith("onvif-")]:
            kind, severity = ONVIF_KINDS[key.removeprefix("onvif-")]
            await self._on_transition(RuleEvent(Phase.END, key, kind, severity, now), None)
        self._running = False
        for job in self._clips.flush():
            spawn(self._write_clip(job), name=f"{self.camera.id}-clip", tasks=self._writes)
        for segment in self._segments.flush() if self._segments else ():
            spawn(self._write_segment(segment), name=f"{self.camera.id}-segment", tasks=self._writes)
        self._detector.reset()
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)
