"""Clip writing speed: the hub's remux (access units → MP4) against PyAV remuxing alone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import av

from adapters.rtsp.pyav_source import PyAVStreamSource
from adapters.source import EncodedPacket
from bench.media import scene_720p
from bench.result import BenchResult
from hub.recording.remux import sha256_file, write_mp4


async def _packets(path: Path) -> list[EncodedPacket]:
    source = PyAVStreamSource(str(path), analysis_fps=None)
    out: list[EncodedPacket] = []
    async with source:
        async for item in source:
            if isinstance(item, EncodedPacket):
                out.append(item)
    return out


def _demuxed(src: Path) -> list[tuple[bytes, int, int, bool]]:
    with av.open(str(src)) as inp:
        return [
            (bytes(p), p.pts, p.dts, p.is_keyframe)
            for p in inp.demux(inp.streams.video[0])
            if p.dts is not None and p.pts is not None
        ]


def _bare_remux(in_stream: Any, packets: list[tuple[bytes, int, int, bool]], dst: Path) -> int:
    """The baseline: the same packets, in memory, muxed by PyAV with a template stream."""
    with av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        out_stream = out.add_stream_from_template(in_stream)
        for data, pts, dts, key in packets:
            packet = av.Packet(data)
            packet.pts, packet.dts, packet.is_keyframe = pts, dts, key
            packet.time_base = in_stream.time_base
            packet.stream = out_stream
            out.mux(packet)
    return len(packets)


def _best_rate(fn: object, frames: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return frames / best


def run(*, quick: bool) -> BenchResult:
    seconds = 20.0 if quick else 60.0
    src = scene_720p(seconds)
    packets = asyncio.run(_packets(src))
    repeats = 3 if quick else 7
    with TemporaryDirectory() as tmp:
        out = Path(tmp)
        demuxed = _demuxed(src)
        with av.open(str(src)) as template:
            stream = template.streams.video[0]
            baseline = _best_rate(
                lambda: _bare_remux(stream, demuxed, out / "bare.mp4"), len(demuxed), repeats
            )
        hub = _best_rate(lambda: write_mp4(packets, out / "hub.mp4"), len(packets), repeats)
        checksum = _best_rate(lambda: sha256_file(out / "hub.mp4"), len(packets), repeats)
    # What the remux alone costs: the clip's time less its checksum's.
    remux_only = 1 / (1 / hub - 1 / checksum)
    return BenchResult(
        name="clip_remux",
        metric="clip write rate: remux to MP4 without re-encoding (720p H.264, 2 Mbps)",
        value=round(remux_only),
        unit="frames/s",
        baseline=round(baseline),
        goal="ratio >= 0.8 (timestamp repair and access-unit handling cost little over PyAV alone)",
        details={
            "frames": len(packets),
            "clip_seconds": seconds,
            "with_sha256_frames_per_s": round(hub),
            "with_sha256_ratio": round(hub / baseline, 3),
        },
    )
