"""Ingest CPU per camera: the hub's source + ring buffer against a bare PyAV demux loop, both
reading the same simulated 720p RTSP streams (served from another process) in the same run.

Fair by construction: both open the streams with the hub's FFmpeg options, both are measured
only in the steady state (after every stream has delivered for ``WARMUP_S``; opening costs
differ and are not what this measures), both count the packets of the same window, and the two
take turns over several rounds, so that load from elsewhere on the machine hits both alike. The
figure is the median over rounds of CPU per packet, times the stream's frame rate.
"""

from __future__ import annotations

import asyncio
import os
import statistics

from adapters.rtsp.pyav_source import PyAVStreamSource
from adapters.source import EncodedPacket
from bench.bare import Window, demux_window, measure
from bench.media import scene_720p
from bench.result import BenchResult
from bench.rtsp_serve import served
from hub.recording.ring_buffer import PacketRingBuffer

STREAMS = 4
FPS = 10.0  # the bench scene's


async def _hub(urls: list[str], seconds: float) -> Window:
    """The hub's record path: PyAVStreamSource (access units, hand-over) into a ring buffer."""
    counts = [0] * len(urls)
    stop = asyncio.Event()
    sources = [PyAVStreamSource(url, analysis_fps=None) for url in urls]

    async def read(i: int, source: PyAVStreamSource) -> None:
        ring = PacketRingBuffer(max_seconds=30, max_bytes=64 << 20)
        async for item in source:
            if isinstance(item, EncodedPacket):
                ring.append(item)
                counts[i] += 1
            if stop.is_set():
                return

    await asyncio.gather(*(s.open() for s in sources))  # the window starts after WARMUP_S
    readers = [asyncio.create_task(read(i, s), name=f"bench-read-{i}") for i, s in enumerate(sources)]
    try:
        loop = asyncio.get_running_loop()
        # The window's sleep runs in a thread so that the loop only does the hub's work.
        return await loop.run_in_executor(None, measure, lambda: sum(counts), seconds)
    finally:
        stop.set()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in sources))


def run(*, quick: bool) -> BenchResult:
    rounds, seconds = (2, 6.0) if quick else (4, 15.0)
    media = scene_720p(30.0)
    load_before = os.getloadavg()[0]
    bare: list[Window] = []
    hub: list[Window] = []
    with served(media, STREAMS) as sim:
        urls = [f"rtsp://127.0.0.1:{sim.port}/cam{i}" for i in range(STREAMS)]
        for _ in range(rounds):
            bare.append(demux_window(urls, seconds))
            hub.append(asyncio.run(_hub(urls, seconds)))
    per_packet_bare = statistics.median(w.per_packet_s for w in bare)
    per_packet_hub = statistics.median(w.per_packet_s for w in hub)
    ratios = [round(h.per_packet_s / b.per_packet_s, 3) for h, b in zip(hub, bare, strict=True)]
    return BenchResult(
        name="ingest",
        metric="ingest CPU per 720p H.264 camera (record path: demux, access units, ring buffer)",
        value=round(per_packet_hub * FPS * 100, 3),
        unit="% of a core per stream",
        baseline=round(per_packet_bare * FPS * 100, 3),
        goal="ratio <= 1.3 (the hub's ingest costs at most 30 % more than a bare PyAV demux loop)",
        higher_is_better=False,
        details={
            "streams": STREAMS,
            "rounds": rounds,
            "seconds_per_round": seconds,
            "hub_packets": sum(w.packets for w in hub),
            "bare_packets": sum(w.packets for w in bare),
            "round_ratios": ratios,
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
    )
