"""Clip latency: from an event's end to its clip being readable in S3, on a real SeaweedFS.

Simulated cameras (720p main + 640x360 sub, motion analysed on the sub as in production) play a
clip with one object crossing per loop, so each camera raises an event every loop; the cameras'
loops are staggered, so their clips do not all come at once. The hub runs on S3 storage. For
each event the benchmark reads the row's ``ended_at``, then polls S3 until a GET of the clip's
key returns data; the latency is the difference, on this machine's clock. A clip cannot be
complete before its post-roll has been recorded, so the floor is ``post_roll_s``.

Baseline, in the same run once the hub has stopped: the post-roll plus the time to remux a clip
of the hub's median clip length directly (PyAV template remux to MP4 with ``+faststart``) and
upload it with the minio SDK to the same server, until it is readable the same way; the ratio is
then the hub's overhead over doing just that.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import urllib3
from minio import Minio
from minio.error import S3Error
from pydantic import SecretStr
from sqlalchemy import select

from adapters.sim.substream import make_substream
from bench.media import CACHE, EVENT_LOOP_S, event_scene_720p
from bench.result import BenchResult
from bench.rtsp_serve import served
from hub.config.camera import CameraConfig
from hub.config.hub import HubSettings
from hub.config.recording import RecordingSettings
from hub.config.storage import S3Settings, StorageBackend, StorageSettings
from hub.db.models import Event
from hub.runtime import HubRuntime
from tests.fixtures.seaweed import S3Endpoint, SeaweedServer

FPS = 10.0  # the bench scene's
POLL_S = 0.02  # how often a pending clip is looked for: the figures' resolution
BUCKET = "bench-clips"
BASELINE_REPEATS = 5


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _client(endpoint: S3Endpoint) -> Minio:
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2.0, read=5.0), retries=False)
    return Minio(
        endpoint.endpoint,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        secure=False,
        http_client=http,
    )


def _readable(client: Minio, key: str) -> bool:
    try:
        response = client.get_object(BUCKET, key, offset=0, length=16)
    except S3Error as err:
        if err.code in ("NoSuchKey", "NoSuchObject"):
            return False
        raise
    try:
        return len(response.read()) > 0
    finally:
        response.close()
        response.release_conn()


def _settings(
    root: Path, port: int, cameras: int, endpoint: S3Endpoint, recording: RecordingSettings
) -> HubSettings:
    base = f"rtsp://127.0.0.1:{port}"
    s3 = S3Settings(
        endpoint=endpoint.endpoint,
        access_key=endpoint.access_key,
        secret_key=SecretStr(endpoint.secret_key),
        bucket=BUCKET,
    )
    return HubSettings(
        data_dir=root / "data",
        secret_key=SecretStr("bench-secret"),
        storage=StorageSettings(backend=StorageBackend.S3, s3=s3),
        recording=recording,
        cameras=[
            CameraConfig(id=f"cam{i}", url=f"{base}/cam{i}/main", sub_url=f"{base}/cam{i}/sub")
            for i in range(cameras)
        ],
    )


async def _closed_events(runtime: HubRuntime) -> list[tuple[str, str, float, float | None]]:
    """(event id, clip key, ended_at, clip seconds) of the ended events that have a clip key."""
    async with runtime.parts.sessions() as session:
        rows = await session.execute(
            select(Event.id, Event.clip_key, Event.ended_at, Event.clip_duration_s).where(
                Event.ended_at.is_not(None), Event.clip_key.is_not(None), Event.kind == "motion"
            )
        )
        return [(i, k, _epoch(e), d) for i, k, e, d in rows.tuples() if k is not None and e is not None]


async def _hub(
    port: int, cameras: int, endpoint: S3Endpoint, recording: RecordingSettings, wanted: int, timeout_s: float
) -> tuple[list[float], list[float]]:
    """Latencies of the first ``wanted`` events (and their clips' lengths)."""
    client = _client(endpoint)
    latencies: dict[str, float] = {}
    durations: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-clip-latency-") as tmp:
        runtime = HubRuntime(_settings(Path(tmp), port, cameras, endpoint, recording))
        await runtime.start()
        try:
            deadline = time.monotonic() + timeout_s
            while len(latencies) < wanted and time.monotonic() < deadline:
                for event_id, key, ended, _ in await _closed_events(runtime):
                    if event_id not in latencies and await asyncio.to_thread(_readable, client, key):
                        latencies[event_id] = time.time() - ended
                await asyncio.sleep(POLL_S)
            durations = [d for _, _, _, d in await _closed_events(runtime) if d is not None]
        finally:
            await runtime.stop()
    if len(latencies) < wanted:
        raise RuntimeError(f"only {len(latencies)} of {wanted} clips became readable in {timeout_s:g} s")
    return list(latencies.values())[:wanted], durations


def _clip_packets(path: Path, seconds: float) -> list[tuple[bytes, int, int, bool]]:
    """``seconds`` of the clip's packets from its first keyframe, looping it as the camera does."""
    with av.open(str(path)) as inp:
        stream = inp.streams.video[0]
        assert stream.time_base is not None
        one_loop = [
            (bytes(p), int(p.pts), int(p.dts), bool(p.is_keyframe))
            for p in inp.demux(stream)
            if p.size and p.pts is not None and p.dts is not None
        ]
        step = round(1 / (float(stream.time_base) * FPS))
    out = []
    for i in range(round(seconds * FPS)):
        data, _, _, keyframe = one_loop[i % len(one_loop)]
        out.append((data, i * step, i * step, keyframe))
    return out


def _direct(path: Path, packets: list[tuple[bytes, int, int, bool]], client: Minio, tmp: Path) -> float:
    """Seconds to remux ``packets`` to an MP4 and upload it until a GET returns it."""
    key = f"baseline/{uuid.uuid4().hex}.mp4"
    out = tmp / "direct.mp4"
    started = time.perf_counter()
    with (
        av.open(str(path)) as template,
        av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as dst,
    ):
        in_stream = template.streams.video[0]
        assert in_stream.time_base is not None
        out_stream = dst.add_stream_from_template(in_stream)
        for data, pts, dts, keyframe in packets:
            packet = av.Packet(data)
            packet.pts, packet.dts, packet.is_keyframe = pts, dts, keyframe
            packet.time_base = in_stream.time_base
            packet.stream = out_stream
            dst.mux(packet)
    client.fput_object(BUCKET, key, str(out), content_type="video/mp4")
    while not _readable(client, key):
        time.sleep(POLL_S)
    return time.perf_counter() - started


def _baseline(path: Path, clip_s: float, endpoint: S3Endpoint) -> float:
    client = _client(endpoint)
    if not client.bucket_exists(BUCKET):
        client.make_bucket(BUCKET)
    packets = _clip_packets(path, clip_s)
    with tempfile.TemporaryDirectory(prefix="bench-clip-direct-") as tmp:
        client.put_object(BUCKET, "baseline/warm-up", io.BytesIO(b"x"), 1)  # connection, bucket
        return statistics.median(_direct(path, packets, client, Path(tmp)) for _ in range(BASELINE_REPEATS))


def _percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value that at least ``fraction`` of the values do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def run(*, quick: bool) -> BenchResult:
    cameras, events = (2, 4) if quick else (4, 20)
    recording = RecordingSettings()
    main = event_scene_720p()
    sub = make_substream(main, CACHE / f"{main.stem}-sub-640x360.mp4", 640, 360)
    logging.getLogger("hub").setLevel(logging.WARNING)
    load_before = os.getloadavg()[0]
    # Enough loops for every camera's share of the events, plus start-up and motion warm-up.
    timeout_s = 60.0 + (events / cameras + 2) * EVENT_LOOP_S
    with tempfile.TemporaryDirectory(prefix="bench-seaweed-") as weed_dir:
        seaweed = SeaweedServer(Path(weed_dir))
        seaweed.start()
        try:
            with served(main, cameras, sub=sub, stagger_s=EVENT_LOOP_S / cameras) as sim:
                latencies, durations = asyncio.run(
                    _hub(sim.port, cameras, seaweed.endpoint, recording, events, timeout_s)
                )
            clip_s = statistics.median(durations)
            direct_s = _baseline(main, clip_s, seaweed.endpoint)
        finally:
            seaweed.stop()
    p95 = _percentile(latencies, 0.95)
    details: dict[str, Any] = {
        "events": len(latencies),
        "cameras": cameras,
        "post_roll_s": recording.post_roll_s,
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(p95, 3),
        "max_s": round(max(latencies), 3),
        "over_post_roll_p95_s": round(p95 - recording.post_roll_s, 3),
        "median_clip_s": round(clip_s, 2),
        "direct_remux_upload_s": round(direct_s, 3),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    return BenchResult(
        name="clip_latency",
        metric="event end to clip readable in S3 (SeaweedFS), 95th percentile",
        value=round(p95, 3),
        unit="s",
        baseline=round(recording.post_roll_s + direct_s, 3),
        goal=f"p95 <= post_roll + 2 s ({recording.post_roll_s + 2:g} s); "
        "baseline: post-roll + a direct PyAV remux and minio upload of a clip as long",
        higher_is_better=False,
        details=details,
    )
