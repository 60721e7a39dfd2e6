"""One camera stream: its playback loop, its sender task, its fault hooks and its other versions.

The sender task packetizes each access unit once and fans it out to the stream's playing
sessions, as a real camera's encoder does. Before each unit it asks the camera's
:class:`~adapters.sim.faults.CameraFaults` what to do: refuse (drop every session), stall (send
nothing), corrupt payloads, shift or wrap timestamps, or switch to a resized or black version of
the clip.
Versions are encoded once, on demand, in a worker thread; the switch happens at a keyframe of the
new version, whose SPS/PPS go in-band in front of it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import av

from adapters.rtsp import nal
from adapters.sim.faults import CameraFaults, Fault
from adapters.sim.media import RTP_CLOCK, Media, MediaLoop, ScheduledUnit
from adapters.sim.rtsp.rtp import RtpPayload, packetize
from adapters.sim.rtsp.session import SendPolicy, Session
from adapters.sim.snapshot import SnapshotCache
from adapters.sim.substream import transcode_media

logger = logging.getLogger(__name__)

VersionKey = tuple[int, int, bool]  # width, height, black
CORRUPT_HEADER_BYTES = 3  # NAL/FU headers stay intact, so clients still depacketize
BYTES_PER_FLIP = 64  # a damaged payload gets one flipped byte per 64 (and at least one)
# Making a version can fail on a size the encoder refuses: our own check (ValueError) or libx264's.
PREPARE_ERRORS = (ValueError, av.error.FFmpegError)


def corrupt_payloads(
    codec: str, payloads: list[RtpPayload], fraction: float, rng: random.Random
) -> list[RtpPayload]:
    """``payloads`` with random bytes flipped in about ``fraction`` of those that carry slices."""
    out: list[RtpPayload] = []
    for payload, marker in payloads:
        slice_data = len(payload) > CORRUPT_HEADER_BYTES and not nal.is_parameter_set(codec, payload)
        if slice_data and rng.random() < fraction:
            data = bytearray(payload)
            for _ in range(1 + len(data) // BYTES_PER_FLIP):
                data[rng.randrange(CORRUPT_HEADER_BYTES, len(data))] ^= rng.randrange(1, 256)
            payload = bytes(data)
        out.append((payload, marker))
    return out


class SimStream:
    """A served camera stream (``RtspServer.stream(path)``): what plays, its faults, snapshots."""

    def __init__(self, path: str, media: Media, faults: CameraFaults, policy: SendPolicy) -> None:
        self.path = path
        self.source = media
        self.faults = faults
        self.loop = MediaLoop(media)
        self.sessions: set[Session] = set()
        self._policy = policy
        self._versions: dict[VersionKey, Media] = {(media.width, media.height, False): media}
        self._preparing: dict[VersionKey, asyncio.Task[None]] = {}
        self._failed: set[VersionKey] = set()
        self._rng = random.Random()
        self._snapshots = SnapshotCache()
        self._task: asyncio.Task[None] | None = None
        self._wrap: tuple[Fault, int] | None = None  # the ts_wrap fault and its RTP offset

    @property
    def media(self) -> Media:
        """The version on the wire now (the source, or a resized or black copy)."""
        return self.loop.media

    @property
    def width(self) -> int:
        return self.media.width

    @property
    def height(self) -> int:
        return self.media.height

    async def snapshot_jpeg(self) -> bytes:
        """A JPEG of the picture being played now (decoded in a worker thread)."""
        media = self.media
        position = max(self.loop.next_index - 1, 0) % len(media.units)
        return await self._snapshots.jpeg(media, position)

    def start(self) -> None:
        self.loop.epoch = time.monotonic()
        self.loop.next_index = 0
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"sim-rtsp-stream-{self.path}")

    def tasks(self) -> list[asyncio.Task[None]]:
        """Cancel the sender and any version being prepared; the tasks to wait for."""
        tasks = [*self._preparing.values(), *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        self._task = None
        self._preparing.clear()
        return tasks

    def drop_sessions(self) -> None:
        """Reset the connection of every session (the camera went offline)."""
        for session in list(self.sessions):
            session.connection.abort()

    async def _run(self) -> None:
        async for scheduled in self.loop.play():
            if self.faults.refusing():
                if self.sessions:
                    logger.info("sim camera %s: offline, dropping %d sessions", self.path, len(self.sessions))
                    self.drop_sessions()
                continue
            scheduled = self._maybe_switch(scheduled)
            if not self.sessions:
                continue
            if self.faults.stalled():
                for session in self.sessions:
                    session.wait_keyframe = True  # resume on a keyframe when the stall ends
                continue
            self._send(scheduled)

    def _send(self, scheduled: ScheduledUnit) -> None:
        payloads = packetize(self.media.codec, scheduled.unit.nals)
        fraction = self.faults.corrupt_fraction()
        if fraction > 0:
            payloads = corrupt_payloads(self.media.codec, payloads, fraction, self._rng)
        offset = round(self.faults.timestamp_offset_s() * RTP_CLOCK) + self._wrap_offset()
        now = time.monotonic()
        timestamp = (scheduled.rtp_timestamp + offset) % 2**32
        report_timestamp = (self.loop.rtp_timestamp_at(now) + offset) % 2**32
        for session in list(self.sessions):
            session.deliver(
                scheduled,
                payloads,
                timestamp=timestamp,
                report_timestamp=report_timestamp,
                policy=self._policy,
                now=now,
            )

    def _wrap_offset(self) -> int:
        """RTP ticks that put 2^32 at the ts_wrap fault's time; fixed once, so no jump follows."""
        fault = self.faults.timestamp_wrap()
        if fault is None:
            return 0
        if self._wrap is None or self._wrap[0] is not fault:
            when = time.monotonic() + fault.at_s - self.faults.elapsed()  # the fault's clock may differ
            self._wrap = (fault, -self.loop.rtp_timestamp_at(when) % 2**32)
        return self._wrap[1]

    def _wanted(self) -> VersionKey:
        width, height = self.faults.resize() or (self.source.width, self.source.height)
        return width, height, self.faults.tampered()

    def _maybe_switch(self, scheduled: ScheduledUnit) -> ScheduledUnit:
        """Switch to the version the faults ask for, at its first keyframe once it is ready."""
        key = self._wanted()
        if self.media is self._versions.get(key) or key in self._failed:
            return scheduled
        version = self._versions.get(key)
        if version is None:
            if key not in self._preparing:
                self._preparing[key] = asyncio.get_running_loop().create_task(
                    self._prepare(key), name=f"sim-rtsp-version-{self.path}-{key[0]}x{key[1]}"
                )
            return scheduled
        if not version.units[scheduled.index % len(version.units)].is_keyframe:
            return scheduled
        logger.info("sim camera %s: now %dx%d%s", self.path, key[0], key[1], " black" if key[2] else "")
        self.loop.switch(version)
        return self.loop.unit_at(scheduled.index)

    def set_view(self, media: Media) -> None:
        """Play ``media`` (same size as the source, e.g. a PTZ view) when no fault asks otherwise;
        the sender switches at its next keyframe. Resize and tamper faults still come first."""
        self._versions[(self.source.width, self.source.height, False)] = media

    async def _prepare(self, key: VersionKey) -> None:
        width, height, black = key
        try:
            version = await asyncio.to_thread(transcode_media, self.source, width, height, black=black)
            self._versions[key] = version
        except PREPARE_ERRORS as err:
            logger.error("sim camera %s: cannot make a %dx%d version: %s", self.path, width, height, err)
            self._failed.add(key)
        finally:
            self._preparing.pop(key, None)
