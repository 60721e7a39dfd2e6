"""Ingest CPU per camera: the hub's source + ring buffer against a bare PyAV demux loop, both
reading the same simulated 720p RTSP streams (served from another process) in the same run."""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import av

from adapters.rtsp.pyav_source import PyAVStreamSource
from adapters.source import EncodedPacket
from bench.media import scene_720p
from bench.result import BenchResult
from hub.recording.ring_buffer import PacketRingBuffer


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _bare(urls: list[str], seconds: float) -> tuple[float, int]:
    """Baseline: one thread per stream, av.open + demux, packets dropped on the floor."""
    counts = [0] * len(urls)

    def read(i: int, url: str) -> None:
        with av.open(url, options={"rtsp_transport": "tcp", "analyzeduration": "500000"}) as c:
            deadline = time.monotonic() + seconds
            for packet in c.demux(c.streams.video[0]):
                if packet.size:
                    counts[i] += 1
                if time.monotonic() > deadline:
                    return

    threads = [threading.Thread(target=read, args=(i, u)) for i, u in enumerate(urls)]
    start = _cpu()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _cpu() - start, sum(counts)


async def _hub(urls: list[str], seconds: float) -> tuple[float, int]:
    counts = [0] * len(urls)

    async def read(i: int, url: str) -> None:
        ring = PacketRingBuffer(max_seconds=30, max_bytes=64 << 20)
        source = PyAVStreamSource(url, analysis_fps=None)
        async with source:
            deadline = time.monotonic() + seconds
            async for item in source:
                if isinstance(item, EncodedPacket):
                    ring.append(item)
                    counts[i] += 1
                if time.monotonic() > deadline:
                    return

    start = _cpu()
    await asyncio.gather(*(read(i, u) for i, u in enumerate(urls)))
    return _cpu() - start, sum(counts)


def run(*, quick: bool) -> BenchResult:
    streams = 4
    seconds = 10.0 if quick else 40.0
    media = scene_720p(30.0)
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.rtsp_serve", str(media), str(streams)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        urls = [f"rtsp://127.0.0.1:{port}/cam{i}" for i in range(streams)]
        bare_cpu, bare_packets = _bare(urls, seconds)
        hub_cpu, hub_packets = asyncio.run(_hub(urls, seconds))
    finally:
        server.terminate()
        server.wait(10)
    # Per stream, as a percentage of one core, normalised to the packets each loop handled.
    per_packet_bare = bare_cpu / max(bare_packets, 1)
    per_packet_hub = hub_cpu / max(hub_packets, 1)
    fps = 10.0
    return BenchResult(
        name="ingest",
        metric="ingest CPU per 720p H.264 camera (record path: demux, access units, ring buffer)",
        value=round(per_packet_hub * fps * 100, 3),
        unit="% of a core per stream",
        baseline=round(per_packet_bare * fps * 100, 3),
        goal="ratio <= 1.3 (the hub's ingest costs at most 30 % more than a bare PyAV demux loop)",
        higher_is_better=False,
        details={
            "streams": streams,
            "seconds": seconds,
            "hub_packets": hub_packets,
            "bare_packets": bare_packets,
        },
    )
