"""The baseline of the ingest benchmarks: a bare PyAV demux loop, one thread per stream, that
opens each URL with the hub's own FFmpeg options and drops every packet on the floor."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import av.error

from adapters.rtsp.pyav_source import PyAVStreamSource

WARMUP_S = 2.0  # after every stream delivered: opening costs differ and are not measured
OPEN_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Window:
    cpu_s: float
    packets: int
    seconds: float

    @property
    def per_packet_s(self) -> float:
        return self.cpu_s / max(self.packets, 1)

    @property
    def cores(self) -> float:
        return self.cpu_s / self.seconds if self.seconds else 0.0


def process_cpu() -> float:
    """user + system CPU of every thread of this process (children not included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(packets: Callable[[], int], seconds: float) -> Window:
    """Blocking: this process's CPU and the packets counted over ``seconds``, after a warm-up."""
    time.sleep(WARMUP_S)
    cpu, count, started = process_cpu(), packets(), time.monotonic()
    time.sleep(seconds)
    return Window(process_cpu() - cpu, packets() - count, time.monotonic() - started)


def demux_window(urls: list[str], seconds: float) -> Window:
    """Open every URL, then measure ``seconds`` of bare demuxing."""
    counts = [0] * len(urls)
    opened = threading.Barrier(len(urls) + 1, timeout=OPEN_TIMEOUT_S)
    stop = threading.Event()
    errors: list[BaseException] = []

    def read(i: int, url: str) -> None:
        try:
            with av.open(url, options=PyAVStreamSource(url).ffmpeg_options()) as container:
                opened.wait()
                for packet in container.demux(container.streams.video[0]):
                    if packet.size:
                        counts[i] += 1
                    if stop.is_set():
                        return
        except (av.error.FFmpegError, OSError, threading.BrokenBarrierError) as err:
            errors.append(err)
            opened.abort()  # the benchmark fails now instead of at the barrier's time-out

    threads = [threading.Thread(target=read, args=(i, u), daemon=True) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    try:
        opened.wait()
        return measure(lambda: sum(counts), seconds)
    except threading.BrokenBarrierError:
        raise RuntimeError(f"bare demux could not open its streams: {errors[:1]}") from None
    finally:
        stop.set()
        for t in threads:
            t.join(OPEN_TIMEOUT_S)
