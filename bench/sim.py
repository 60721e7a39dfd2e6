"""Simulator CPU per served camera-stream: the RTSP server against a bare asyncio sender that
pushes the same RTP bytes at the same pace to the same clients, measured in the same run."""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from pathlib import Path

from adapters.sim.media import load_media
from adapters.sim.rtsp.server import RtspServer
from bench.media import scene_720p
from bench.result import BenchResult

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _clients(urls: list[str], seconds: float) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.rtsp_clients", str(seconds), *urls, cwd=ROOT, stdout=subprocess.PIPE
    )
    out, _ = await proc.communicate()
    return int(out.decode().strip() or 0)


async def _serve(streams: int, clients_per_stream: int, seconds: float) -> tuple[float, float, int]:
    media = await asyncio.to_thread(load_media, scene_720p(30.0))
    server = RtspServer()
    for i in range(streams):
        server.add_stream(f"cam{i}", media)
    await server.start()
    try:
        urls = [server.url(f"cam{i}") for i in range(streams) for _ in range(clients_per_stream)]
        start_cpu, start = _cpu(), time.monotonic()
        received = await _clients(urls, seconds)
        return _cpu() - start_cpu, time.monotonic() - start, received
    finally:
        await server.stop()


async def _bare(clients: int, seconds: float, rate_bps: float) -> float:
    """A TCP server writing RTP-sized chunks at ``rate_bps`` to each client: the floor."""
    chunk = b"\x24\x00\x05\x78" + bytes(1400)
    per_tick = max(1, int(rate_bps / 8 / len(chunk) / 10))
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sinks = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]

    async def drain(reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    drains = [asyncio.create_task(drain(r)) for r, _ in sinks]
    start_cpu = _cpu()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for writer in writers:
            for _ in range(per_tick):
                writer.write(chunk)
        await asyncio.sleep(0.1)
    cpu = _cpu() - start_cpu
    for writer in writers:
        writer.close()
    for _, w in sinks:
        w.close()
    for task in drains:
        task.cancel()
    await asyncio.gather(*drains, return_exceptions=True)
    server.close()
    return cpu


def run(*, quick: bool) -> BenchResult:
    streams, clients = (4, 2) if quick else (8, 8)
    seconds = 10.0 if quick else 30.0
    cpu, wall, received = asyncio.run(_serve(streams, clients, seconds))
    served = streams * clients
    rate_bps = received * 8 / max(wall, 1e-9) / served
    bare_cpu = asyncio.run(_bare(served, seconds, rate_bps))
    per_stream = cpu / wall * 100 / served
    bare_per_stream = bare_cpu / seconds * 100 / served
    return BenchResult(
        name="sim",
        metric="simulator CPU per camera-stream served (720p H.264)",
        value=round(per_stream, 3),
        unit="% of a core per stream",
        baseline=round(bare_per_stream, 3),
        goal="value < 1 % of a core for a 2 Mbps 720p stream; never the bottleneck of the hub's benchmarks",
        higher_is_better=False,
        details={
            "streams": streams,
            "clients_per_stream": clients,
            "seconds": seconds,
            "bitrate_per_stream_kbps": round(rate_bps / 1000),
        },
    )
