"""A :class:`~adapters.source.StreamSource` on PyAV: one reader thread per open stream.

The thread demuxes (and decodes, when frames are wanted) and puts what it read in an inbox that
the event loop drains. Packets are never dropped: if the consumer falls far behind, the source
fails instead. Frames are sampled at ``analysis_fps`` and the oldest are dropped when analysis
lags, since stale frames are useless.

A camera stream costs FFmpeg little, so three things that look cheap would cost as much as the
demux itself, and each is kept out of the per-packet path:

* Waking the event loop from a thread (``call_soon_threadsafe``) per packet. The loop instead
  drains each inbox on a timer, every ``HANDOVER_S`` for a decoded stream (its frames drive
  events) and every ``RECORD_HANDOVER_S`` for a recorded one (its packets wait in the ring
  buffer anyway), on one grid, so that all the sources of a loop share one wake-up; the reader
  wakes the loop itself only for a full inbox or the end.
* Python work in the reader thread, which runs with cold caches after every blocking read. A
  record-only stream hands over each demuxed packet's bytes (copied at once, while FFmpeg's
  buffer is in this core's cache) and the loop assembles access units in batches. A stream that
  is decoded assembles in its thread: the decoder needs whole pictures.
* PyAV's read time-out, which takes the GIL in FFmpeg's interrupt callback several times per
  RTP packet. Reads run without it: FFmpeg's own socket time-out (``timeout``, no bytes for
  ``stall_timeout_s``) ends a dead connection in the reader, and the same timer is a watchdog
  for a connection that stays busy without delivering a picture (RTCP only, say): it ends the
  iteration with :class:`~adapters.source.SourceStalled` ``STALL_GRACE_S`` later, and the
  reader, which PyAV gives no way to interrupt, ends at its next packet or socket time-out.
  The open keeps PyAV's time-out: it runs once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from fractions import Fraction
from typing import Any

import av
import av.error

from adapters.rtsp.access_units import AccessUnit, AccessUnitAssembler
from adapters.rtsp.errors import map_av_error, redact_url
from adapters.source import (
    DecodedFrame,
    EncodedPacket,
    SourceError,
    SourceItem,
    SourceStalled,
    StreamInfo,
    StreamSource,
)

log = logging.getLogger(__name__)

MAX_PENDING_PACKETS = 5000  # ~3 min of a 25 fps stream: the consumer is stuck, not slow
MAX_PENDING_FRAMES = 4
HANDOVER_S = 0.1  # inbox drain cadence of a decoded stream: the latency a frame may gain
RECORD_HANDOVER_S = 5 * HANDOVER_S  # a recorded stream's: a multiple, so its ticks share wake-ups
WAKE_AT_ITEMS = 64  # a file read at full speed: wake the loop now instead of at the next tick
STALL_GRACE_S = 1.0  # FFmpeg's socket time-out ends a silent stream first, with a clean reader exit
SAMPLE_SLACK_S = 1e-6  # float rounding: 0.4 + 0.2 > 0.6 would skip the frame at 0.6 s


class _End:
    def __init__(self, error: SourceError | None, *, complete: bool = False) -> None:
        self.error = error
        self.complete = complete  # the stream ended by itself: its last access unit is whole


# What the reader thread puts in the inbox: ready items, the end, or a demuxed packet that is
# not assembled yet (``(data, pts, dts, wallclock)``, record-only streams).
_Inbound = SourceItem | _End | tuple[bytes, int | None, int | None, float]


class PyAVStreamSource(StreamSource):
    def __init__(
        self,
        url: str,
        *,
        transport: str = "tcp",
        analysis_fps: float | None = 5.0,
        open_timeout_s: float = 10.0,
        stall_timeout_s: float = 10.0,
        realtime: bool = False,
    ) -> None:
        """``analysis_fps=None`` records only (no decoding). ``realtime`` paces file sources."""
        self.url = url
        self.safe_url = redact_url(url)
        self.transport = transport
        self.analysis_fps = analysis_fps
        self.open_timeout_s = open_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.realtime = realtime
        self.info: StreamInfo | None = None
        self._container: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._items: collections.deque[SourceItem | _End] = collections.deque()
        # Reader thread -> loop: deque appends and pops are atomic. The flag says an early
        # wake-up is already on its way, so the reader asks for at most one per loop turn.
        self._inbox: collections.deque[_Inbound] = collections.deque()
        self._wake_scheduled = False
        self._ended = False  # an _End reached _items: the pump stops
        self._assembler: AccessUnitAssembler | None = None  # the loop's, for record-only streams
        self._frames_pending = 0
        self._read_since = 0.0  # monotonic time the reader's current read began
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.packets_read = 0
        self.bytes_read = 0
        self.frames_dropped = 0

    async def open(self) -> StreamInfo:
        loop = self._loop = asyncio.get_running_loop()
        self._container, info = await asyncio.to_thread(self._open_blocking)
        self.info = info
        if not self.analysis_fps:
            self._assembler = AccessUnitAssembler(info.codec, info.extradata)
        self._read_since = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"pyav-{self.safe_url}", daemon=True)
        self._thread.start()
        self._arm_pump(loop)
        return info

    def ffmpeg_options(self) -> dict[str, str]:
        """The demuxer options the source opens its URL with (benchmarks reuse them)."""
        if self.url.startswith(("rtsp://", "rtsps://")):
            return {
                "rtsp_transport": self.transport,
                # µs without a byte; FFmpeg waits it twice over (poll, then retry), so halve it.
                "timeout": str(int(self.stall_timeout_s * 500_000)),
                "allowed_media_types": "video",
                # Cameras announce SPS/PPS in the SDP: probing 5 s of stream (the default) only delays.
                "analyzeduration": "0",
                "probesize": "32",
            }
        return {}

    def _open_blocking(self) -> tuple[Any, StreamInfo]:
        try:
            container = av.open(
                self.url,
                options=self.ffmpeg_options(),
                timeout=(self.open_timeout_s, None),  # reads: the watchdog, see the module doc
            )
        except (av.error.FFmpegError, OSError) as err:
            raise map_av_error(err, self.safe_url) from err
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.safe_url}: no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx.name not in ("h264", "hevc"):
            container.close()
            raise SourceError(f"{self.safe_url}: codec {ctx.name} is not supported (h264, hevc)")
        rate = stream.average_rate or stream.guessed_rate
        info = StreamInfo(
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000),
            extradata=bytes(ctx.extradata) if ctx.extradata else None,
            average_fps=float(rate) if rate else None,
        )
        return container, info

    # -- reader thread -------------------------------------------------------------------------

    def _run(self) -> None:
        error: SourceError | None = None
        complete = False
        try:
            complete = self._read_and_decode() if self.analysis_fps else self._read_only()
        except SourceError as err:
            error = err
        except (av.error.FFmpegError, OSError) as err:
            if not self._stop.is_set():
                error = map_av_error(err, self.safe_url)
        except Exception as err:  # a reader thread must always report its end
            log.exception("%s: reader thread failed", self.safe_url)
            error = SourceError(f"{self.safe_url}: internal error: {err}")
        finally:
            with contextlib.suppress(Exception):
                self._container.close()
            self._post([_End(error, complete=complete)])

    def _read_only(self) -> bool:
        """Record only: each packet's bytes and times go to the inbox, the loop assembles them.
        True when the stream ended (not stopped)."""
        assert self.info is not None
        time_base = self.info.time_base
        stream = self._container.streams.video[0]
        inbox, stop = self._inbox, self._stop
        monotonic, wallclock = time.monotonic, time.time
        started, first_pts = monotonic(), None
        for packet in self._container.demux(stream):
            self._read_since = monotonic()
            if stop.is_set():
                return False
            if packet.size == 0:
                continue
            if self.realtime and packet.pts is not None:
                first_pts = self._pace(float(packet.pts * time_base), started, first_pts)
            inbox.append((bytes(packet), packet.pts, packet.dts, wallclock()))  # nothing else per packet
            if len(inbox) >= WAKE_AT_ITEMS:
                self._wake()
        return True

    def _read_and_decode(self) -> bool:
        """Analysis: access units are assembled here, since the decoder needs them whole."""
        assert self.info is not None
        info = self.info
        stream = self._container.streams.video[0]
        assembler = AccessUnitAssembler(info.codec, info.extradata)
        decoder: Any = av.CodecContext.create(info.codec, "r")
        decoder.thread_count = 1  # frame threads delay output; many cameras share 2 cores
        frame_interval = 1.0 / self.analysis_fps if self.analysis_fps else 0.0
        next_sample_pts = float("-inf")  # sample by stream time, so files and cameras behave alike
        started = time.monotonic()
        first_pts: float | None = None
        for packet in self._container.demux(stream):
            self._read_since = time.monotonic()
            if self._stop.is_set():
                return False
            if packet.size == 0:
                continue
            batch: list[SourceItem] = []
            for unit in assembler.push_data(bytes(packet), packet.pts, packet.dts, time.time()):
                info = self._info_for(unit, info, assembler)
                if self.realtime:
                    first_pts = self._pace(float(unit.pts * info.time_base), started, first_pts)
                # Decode first: a new SPS may change the size the packet must carry.
                frame = self._decode(decoder, unit, info, next_sample_pts)
                info = self.info or info
                batch.append(self._encoded(unit, info))
                if frame is not None:
                    next_sample_pts = frame.pts_seconds + frame_interval
                    batch.append(frame)
                elif float(unit.pts * info.time_base) < next_sample_pts - 60:
                    next_sample_pts = float("-inf")  # the camera's clock jumped back
            if batch:
                self._post(batch)
        for unit in assembler.flush():
            info = self._info_for(unit, info, assembler)
            self._post([self._encoded(unit, info)])
        return True

    def _pace(self, pts_s: float, started: float, first_pts: float | None) -> float:
        first = pts_s if first_pts is None else first_pts
        delay = (pts_s - first) - (time.monotonic() - started)
        if delay > 0:
            self._stop.wait(delay)
            self._read_since = time.monotonic()  # pacing is not a stalled read
        return first

    def _decode(self, decoder: Any, unit: AccessUnit, info: StreamInfo, due: float) -> DecodedFrame | None:
        try:
            frames = decoder.decode(av.Packet(unit.data))
        except av.error.InvalidDataError:
            log.debug("%s: undecodable access unit at pts %d", self.safe_url, unit.pts)
            return None
        result: DecodedFrame | None = None
        for frame in frames:
            if (frame.width, frame.height) != (info.width, info.height):
                info = self._resize(info, frame.width, frame.height)
            if float(unit.pts * info.time_base) >= due - SAMPLE_SLACK_S and result is None:
                image = frame.to_ndarray(format="bgr24")
                result = DecodedFrame(image, float(unit.pts * info.time_base), unit.wallclock)
        return result

    def _resize(self, info: StreamInfo, width: int, height: int) -> StreamInfo:
        log.info("%s: resolution is now %dx%d", self.safe_url, width, height)
        new = StreamInfo(
            info.codec, width, height, info.time_base, info.extradata, info.average_fps, info.generation
        )
        self.info = new
        return new

    def _post(self, items: Sequence[SourceItem | _End]) -> None:
        """Into the inbox; the pump takes it at its next tick, but a full inbox or the end (the
        consumer reconnects on it) wakes the loop now."""
        inbox = self._inbox
        inbox.extend(items)
        if len(inbox) >= WAKE_AT_ITEMS or isinstance(items[-1], _End):
            self._wake()

    def _wake(self) -> None:
        if self._wake_scheduled:
            return  # _deliver clears the flag before it drains, so it will see what we added
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self._wake_scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop closed under us at shutdown
            loop.call_soon_threadsafe(self._deliver)

    # -- event loop ----------------------------------------------------------------------------

    def _arm_pump(self, loop: asyncio.AbstractEventLoop) -> None:
        # On a grid shared by every source, so that their ticks fall in one loop iteration.
        every = HANDOVER_S if self.analysis_fps else RECORD_HANDOVER_S
        tick = (int(loop.time() / every) + 1) * every
        loop.call_at(tick, self._pump, loop)

    def _pump(self, loop: asyncio.AbstractEventLoop) -> None:
        """Every tick: take the inbox, and end a stream that delivers no packet (a stall)."""
        try:
            self._deliver()
        except Exception as err:  # the pump must go on, or the consumer would wait forever
            log.exception("%s: handing packets over failed", self.safe_url)
            self._fail(SourceError(f"{self.safe_url}: internal error: {err}"))
        if self._ended or loop.is_closed():
            return
        if time.monotonic() - self._read_since >= self.stall_timeout_s + STALL_GRACE_S:
            self._fail(SourceStalled(f"{self.safe_url}: no data (time-out)"))
            return
        self._arm_pump(loop)

    def _deliver(self) -> None:
        self._wake_scheduled = False
        inbox, items = self._inbox, self._items
        if not inbox:
            return
        while inbox:
            item = inbox.popleft()
            if type(item) is tuple:
                self._assemble(*item)
            elif isinstance(item, DecodedFrame):
                if self._frames_pending >= MAX_PENDING_FRAMES:
                    self._drop_oldest_frame()
                self._frames_pending += 1
                items.append(item)
            elif isinstance(item, _End):
                if item.complete and self._assembler is not None:
                    for unit in self._assembler.flush():
                        items.append(self._encoded(unit, self._info_for(unit, self.info, self._assembler)))
                self._ended = True
                items.append(item)
            else:
                assert isinstance(item, EncodedPacket)
                items.append(item)
        if len(items) > MAX_PENDING_PACKETS and not self._stop.is_set():
            self._fail(SourceError(f"{self.safe_url}: consumer fell behind, stream dropped"))
        self._ready.set()

    def _assemble(self, data: bytes, pts: int | None, dts: int | None, wallclock: float) -> None:
        assembler = self._assembler
        assert assembler is not None
        try:
            units = assembler.push_data(data, pts, dts, wallclock)
        except ValueError as err:  # not H.264/H.265 as announced: the stream cannot be recorded
            self._fail(SourceError(f"{self.safe_url}: malformed packet: {err}"))
            return
        for unit in units:
            self._items.append(self._encoded(unit, self._info_for(unit, self.info, assembler)))

    def _fail(self, error: SourceError) -> None:
        """End the iteration with ``error``; the reader stops after its current read."""
        if self._ended:
            return
        self._stop.set()
        self._ended = True
        self._items.append(_End(error))
        self._ready.set()

    # -- either side -------------------------------------------------------------------------

    def _encoded(self, unit: AccessUnit, info: StreamInfo) -> EncodedPacket:
        self.packets_read += 1
        self.bytes_read += len(unit.data)
        return EncodedPacket(unit.data, unit.pts, unit.dts, unit.is_keyframe, unit.wallclock, info)

    def _info_for(
        self, unit: AccessUnit, info: StreamInfo | None, assembler: AccessUnitAssembler
    ) -> StreamInfo:
        assert info is not None
        if unit.generation == info.generation:
            return info
        log.info("%s: stream parameters changed (generation %d)", self.safe_url, unit.generation)
        new = StreamInfo(
            codec=info.codec,
            width=info.width,
            height=info.height,
            time_base=info.time_base,
            extradata=b"".join(b"\x00\x00\x00\x01" + s for s in assembler.parameter_sets),
            average_fps=info.average_fps,
            generation=unit.generation,
        )
        self.info = new
        return new

    def _drop_oldest_frame(self) -> None:
        for i, item in enumerate(self._items):
            if isinstance(item, DecodedFrame):
                del self._items[i]
                self._frames_pending -= 1
                self.frames_dropped += 1
                return

    async def __aiter__(self) -> AsyncIterator[SourceItem]:
        while True:
            while not self._items:
                self._ready.clear()
                await self._ready.wait()
            item = self._items.popleft()
            if isinstance(item, _End):
                self._items.appendleft(item)  # iteration stays ended
                if item.error is not None:
                    raise item.error
                return
            if isinstance(item, DecodedFrame):
                self._frames_pending -= 1
            yield item

    async def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, self.stall_timeout_s + STALL_GRACE_S)
            if thread.is_alive():  # blocked in FFmpeg on a connection that still sends bytes
                log.warning(
                    "%s: reader still waits for the camera; it ends with its connection", self.safe_url
                )
        elif self._container is not None and thread is None:
            with contextlib.suppress(Exception):
                self._container.close()
