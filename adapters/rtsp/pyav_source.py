"""A :class:`~adapters.source.StreamSource` on PyAV: one reader thread per open stream.

The thread demuxes, assembles access units, decodes (only when frames are wanted) and hands
batches of items to the event loop with ``call_soon_threadsafe``. Packets are never dropped:
if the consumer falls far behind, the source fails instead. Frames are sampled at
``analysis_fps`` and the oldest are dropped when analysis lags, since stale frames are useless.
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

from adapters.rtsp.access_units import AccessUnit, AccessUnitAssembler, RawPacket
from adapters.rtsp.errors import map_av_error, redact_url
from adapters.source import DecodedFrame, EncodedPacket, SourceError, SourceItem, StreamInfo, StreamSource

log = logging.getLogger(__name__)

MAX_PENDING_PACKETS = 5000  # ~3 min of a 25 fps stream: the consumer is stuck, not slow
MAX_PENDING_FRAMES = 4
SAMPLE_SLACK_S = 1e-6  # float rounding: 0.4 + 0.2 > 0.6 would skip the frame at 0.6 s


class _End:
    def __init__(self, error: SourceError | None) -> None:
        self.error = error


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
        self._frames_pending = 0
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.packets_read = 0
        self.bytes_read = 0
        self.frames_dropped = 0

    async def open(self) -> StreamInfo:
        self._loop = asyncio.get_running_loop()
        self._container, info = await asyncio.to_thread(self._open_blocking)
        self.info = info
        self._thread = threading.Thread(target=self._run, name=f"pyav-{self.safe_url}", daemon=True)
        self._thread.start()
        return info

    def _options(self) -> dict[str, str]:
        if self.url.startswith(("rtsp://", "rtsps://")):
            return {
                "rtsp_transport": self.transport,
                "timeout": str(int(self.stall_timeout_s * 1_000_000)),  # FFmpeg 8: µs socket time-out
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
                options=self._options(),
                timeout=(self.open_timeout_s, self.stall_timeout_s),
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

    def _run(self) -> None:
        error: SourceError | None = None
        try:
            self._read_loop()
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
            self._post([_End(error)])

    def _read_loop(self) -> None:
        assert self.info is not None
        info = self.info
        stream = self._container.streams.video[0]
        assembler = AccessUnitAssembler(info.codec, info.extradata)
        decoder: Any = None
        if self.analysis_fps:
            decoder = av.CodecContext.create(info.codec, "r")
            decoder.thread_count = 1  # frame threads delay output; many cameras share 2 cores
        frame_interval = 1.0 / self.analysis_fps if self.analysis_fps else 0.0
        next_sample_pts = float("-inf")  # sample by stream time, so files and cameras behave alike
        started = time.monotonic()
        first_pts: float | None = None
        for packet in self._container.demux(stream):
            if self._stop.is_set():
                return
            if packet.size == 0:
                continue
            now = time.time()
            raw = RawPacket(bytes(packet), packet.pts, packet.dts, now)
            batch: list[SourceItem] = []
            units = assembler.push(raw)
            for unit in units:
                info = self._info_for(unit, info, assembler)
                if self.realtime:
                    first_pts = self._pace(unit, info, started, first_pts)
                frame = None
                if decoder is not None:
                    # Decode first: a new SPS may change the size the packet must carry.
                    frame = self._decode(decoder, unit, info, next_sample_pts)
                    info = self.info or info
                batch.append(
                    EncodedPacket(unit.data, unit.pts, unit.dts, unit.is_keyframe, unit.wallclock, info)
                )
                self.packets_read += 1
                self.bytes_read += len(unit.data)
                if frame is not None:
                    next_sample_pts = frame.pts_seconds + frame_interval
                    batch.append(frame)
                elif decoder is not None and float(unit.pts * info.time_base) < next_sample_pts - 60:
                    next_sample_pts = float("-inf")  # the camera's clock jumped back
            if batch:
                self._post(batch)
        for unit in assembler.flush():
            info = self._info_for(unit, info, assembler)
            self._post([EncodedPacket(unit.data, unit.pts, unit.dts, unit.is_keyframe, unit.wallclock, info)])

    def _info_for(self, unit: AccessUnit, info: StreamInfo, assembler: AccessUnitAssembler) -> StreamInfo:
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

    def _pace(self, unit: AccessUnit, info: StreamInfo, started: float, first_pts: float | None) -> float:
        pts_s = float(unit.pts * info.time_base)
        first = pts_s if first_pts is None else first_pts
        delay = (pts_s - first) - (time.monotonic() - started)
        if delay > 0:
            self._stop.wait(delay)
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

    def _post(self, batch: Sequence[SourceItem | _End]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under us at shutdown
            loop.call_soon_threadsafe(self._deliver, batch)

    def _deliver(self, batch: Sequence[SourceItem | _End]) -> None:
        for item in batch:
            if isinstance(item, DecodedFrame):
                if self._frames_pending >= MAX_PENDING_FRAMES:
                    self._drop_oldest_frame()
                self._frames_pending += 1
            self._items.append(item)
        if len(self._items) > MAX_PENDING_PACKETS:
            self._stop.set()
            self._items.append(_End(SourceError(f"{self.safe_url}: consumer fell behind, stream dropped")))
        self._ready.set()

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
            await asyncio.to_thread(thread.join, self.stall_timeout_s + 1.0)
        elif self._container is not None and thread is None:
            with contextlib.suppress(Exception):
                self._container.close()
