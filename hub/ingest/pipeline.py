"""One camera's pipeline: stream in; ring buffer, motion, rule, events, clips and snapshots out.

Packets of the recorded stream feed the clip assembler; frames of the analysed stream (the
sub-stream when the camera has one) go through a one-slot mailbox to the analysis task, so slow
analysis drops stale frames instead of delaying recording. Blocking work (motion detection,
remuxing, JPEG encoding) runs in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.onvif.models import CameraEvent
from adapters.rtsp.pyav_source import PyAVStreamSource
from adapters.source import BGRImage, DecodedFrame, EncodedPacket, StreamSource
from hub.aio import spawn
from hub.config.camera import CameraConfig
from hub.config.ingest import IngestSettings
from hub.config.motion import MotionSettings
from hub.config.recording import RecordingSettings
from hub.events import keys
from hub.events.retry import until_written
from hub.events.store import EventStore
from hub.ingest.credentials import with_credentials
from hub.ingest.snapshots import write_snapshot
from hub.ingest.stats import StreamStats
from hub.media.spool import MediaSpool
from hub.media.uploader import MediaUploader
from hub.recording.clips import ClipAssembler, ClipJob, ClipPolicy
from hub.recording.remux import write_mp4
from hub.recording.ring_buffer import PacketRingBuffer
from hub.recording.segment_index import add_segment
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

SourceFactory = Callable[[str, CameraConfig, float | None], StreamSource]


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


@dataclass(slots=True)
class PipelineContext:
    """Collaborators shared by every camera's pipeline."""

    events: EventStore
    spool: MediaSpool
    uploader: MediaUploader
    recording: RecordingSettings
    motion: MotionSettings
    source_factory: SourceFactory


@dataclass(slots=True)
class _OpenEvent:
    id: str
    started: float
    best_score: float
    best_image: BGRImage | None


class CameraPipeline:
    def __init__(self, camera: CameraConfig, ctx: PipelineContext) -> None:
        self.camera = camera
        self.ctx = ctx
        rec = ctx.recording
        self.stats = StreamStats()
        self._ring = PacketRingBuffer(max_seconds=rec.ring_buffer_s, max_bytes=rec.ring_buffer_bytes)
        self._clips = ClipAssembler(
            ClipPolicy(rec.pre_roll_s, rec.post_roll_s, rec.max_clip_s, rec.merge_gap_s), self._ring
        )
        continuous = rec.continuous if camera.continuous is None else camera.continuous
        self._segments = SegmentCutter(rec.segment_s) if continuous else None
        m = ctx.motion
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
        self._db_lock = asyncio.Lock()  # close and attach_clip of one camera never interleave
        self._writes: set[asyncio.Task[Any]] = set()
        self._sources: list[StreamSource] = []
        self._stopping = False
        self._running = False  # between the stream opening and the end of _finish
        self._last_image: BGRImage | None = None

    @property
    def analysis_fps(self) -> float:
        return self.camera.analysis_fps or self.ctx.motion.analysis_fps

    def stop(self) -> None:
        """Ask :meth:`run` to finish: open events end, clips in progress are written."""
        self._stopping = True
        self._frame_ready.set()
        for source in self._sources:
            spawn(source.close(), name=f"{self.camera.id}-close", tasks=self._writes)

    async def run(self, on_online: Callable[[], Awaitable[None]]) -> None:
        """Until the stream fails (raises :class:`~adapters.source.SourceError`) or :meth:`stop`."""
        cam = self.camera
        main_url = with_credentials(cam.url, cam.username, cam.password)
        record = self.ctx.source_factory(main_url, cam, None if cam.sub_url else self.analysis_fps)
        self._sources = [record]
        if cam.sub_url:
            sub_url = with_credentials(cam.sub_url, cam.username, cam.password)
            self._sources.append(self.ctx.source_factory(sub_url, cam, self.analysis_fps))
        analysis = asyncio.create_task(self._analyse(), name=f"{cam.id}-analysis")
        try:
            async with contextlib.AsyncExitStack() as stack:
                for source in self._sources:
                    await stack.enter_async_context(source)
                    info = source.info
                    if source is record and info is not None:
                        self.stats.width, self.stats.height = info.width, info.height
                        self.stats.codec, self.stats.nominal_fps = info.codec, info.average_fps
                self._running = True
                readers = [
                    asyncio.create_task(self._read(s, s is record, on_online), name=f"{cam.id}-read-{i}")
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
            analysis.cancel()
            await asyncio.gather(analysis, return_exceptions=True)
            await self._finish()

    async def _read(
        self, source: StreamSource, records: bool, on_online: Callable[[], Awaitable[None]]
    ) -> None:
        announced = False
        async for item in source:
            if isinstance(item, EncodedPacket):
                if not records:
                    continue
                if not announced:
                    announced = True
                    await on_online()
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
        key = f"onvif-{event.topic}"
        is_open = key in self._open
        if event.state == is_open:
            return  # Initialized with the state we already know, or a repeat
        kind, severity = ONVIF_KINDS[event.topic]
        phase = Phase.START if event.state else Phase.END
        # Camera clocks drift: the hub's clock places the event against its own recording.
        transition = RuleEvent(phase, key, kind, severity, time.time(), score=1.0)
        await self._on_transition(transition, self._last_image)

    async def _on_transition(self, transition: RuleEvent, image: BGRImage | None) -> None:
        if transition.phase is Phase.START:
            recording = self._running  # no stream now: the event is kept without a clip
            event_id = await until_written(
                lambda: self.ctx.events.open(self.camera.id, transition, recording=recording),
                what=f"{self.camera.id}: recording the start of a {transition.kind} event",
            )
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
        async with self._db_lock:
            await until_written(
                lambda: self.ctx.events.close(
                    current.id, transition.timestamp, snapshot=snapshot, score=current.best_score
                ),
                what=f"{self.camera.id}: recording the end of event {current.id}",
            )
        if snapshot is not None:
            for key in snapshot:
                self.ctx.spool.enqueue(key, content_type="image/jpeg", metadata=self._meta(current.id))
            self.ctx.uploader.wake()

    async def _write_snapshot(self, event: _OpenEvent) -> tuple[str, str] | None:
        if event.best_image is None:
            return None
        started = datetime.fromtimestamp(event.started, UTC)
        snap = keys.snapshot_key(self.camera.id, started, event.id)
        thumb = keys.thumbnail_key(self.camera.id, started, event.id)
        spool = self.ctx.spool
        try:
            await asyncio.to_thread(
                write_snapshot, event.best_image, spool.path_for(snap), spool.path_for(thumb)
            )
        except (OSError, ValueError):
            log.exception("%s: snapshot of event %s could not be written", self.camera.id, event.id)
            return None
        return snap, thumb

    async def _write_clip(self, job: ClipJob) -> None:
        started = datetime.fromtimestamp(job.packets[0].wallclock, UTC)
        key = keys.clip_key(self.camera.id, started, job.clip_id)
        try:
            facts = await asyncio.to_thread(write_mp4, job.packets, self.ctx.spool.path_for(key))
        except Exception as err:  # a broken clip must still let the event's ticket go out
            log.exception("%s: clip for event(s) %s could not be written", self.camera.id, job.event_ids)
            reason = str(err)
            async with self._db_lock:
                await until_written(
                    lambda: self.ctx.events.clip_failed(job.event_ids, reason),
                    what=f"{self.camera.id}: recording a failed clip",
                )
            return
        async with self._db_lock:
            await until_written(
                lambda: self.ctx.events.attach_clip(job.event_ids, key, facts),
                what=f"{self.camera.id}: recording clip {key}",
            )
        meta = self._meta(job.clip_id) | {
            "start": started.isoformat(),
            "end": datetime.fromtimestamp(facts.end_wallclock, UTC).isoformat(),
            "sha256": facts.sha256,
        }
        self.ctx.spool.enqueue(key, content_type="video/mp4", metadata=meta)
        self.ctx.uploader.wake()
        log.info(
            "%s: clip %s written (%.1f s, %d frames)", self.camera.id, key, facts.duration_s, facts.frames
        )

    async def _write_segment(self, job: SegmentJob) -> None:
        """Continuous recording: the segment into the spool, its row into the index, then upload."""
        started = datetime.fromtimestamp(job.start_wallclock, UTC)
        key = keys.segment_key(self.camera.id, started)
        try:
            facts = await asyncio.to_thread(write_mp4, job.packets, self.ctx.spool.path_for(key))
        except Exception:  # one broken segment must not stop the recording
            log.exception("%s: segment %s could not be written", self.camera.id, key)
            return
        indexed = await until_written(
            lambda: add_segment(
                self.ctx.events.sessions,
                camera_id=self.camera.id,
                key=key,
                facts=facts,
                end_wallclock=job.end_wallclock,
            ),
            what=f"{self.camera.id}: indexing segment {key}",
        )
        if not indexed:
            self.ctx.spool.path_for(key).unlink(missing_ok=True)
            return
        meta = {
            "camera": self.camera.id,
            "start": started.isoformat(),
            "end": datetime.fromtimestamp(job.end_wallclock, UTC).isoformat(),
            "sha256": facts.sha256,
        }
        self.ctx.spool.enqueue(key, content_type="video/mp4", metadata=meta)
        self.ctx.uploader.wake()
        log.debug("%s: segment %s written (%.1f s)", self.camera.id, key, facts.duration_s)

    def _meta(self, event_id: str) -> dict[str, str]:
        return {"camera": self.camera.id, "event": event_id}

    async def _finish(self) -> None:
        """End open events and write clips in progress; runs even when the stream failed."""
        now = time.time()
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
