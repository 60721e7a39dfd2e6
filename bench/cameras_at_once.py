"""Cameras ingested at once: the largest count K of simulated cameras (720p main + 640x360 sub
stream each) that the real hub runtime ingests with no dropped packet and every ring buffer
intact, motion analysis on the sub-stream as in production, SQLite and local storage.

For each K (rising until one fails): a simulator process serves the K cameras; first the bare
demux baseline reads all 2K streams for a window; then the hub (``HubRuntime``, worker processes
and all) opens them, runs until its ring buffers are full, and is measured for a window: CPU and
memory of its process tree (the simulator left out), and every second each camera's figures
from ``supervisor.live()``. At the end the simulator pauses, and each camera's packet count is
compared with what the simulator sent it. A camera passes when

* it received every access unit sent (less the two held until the next one would arrive),
  with no reconnect and status ``online`` throughout;
* its ring buffer always started on a keyframe and spanned its configured seconds.

The analysed frame rate is reported beside (stale frames are dropped by design, not a failure).
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from adapters.sim.substream import make_substream
from bench import procstat
from bench.bare import demux_window
from bench.media import CACHE, scene_720p
from bench.result import BenchResult
from bench.rtsp_serve import SimProcess, served
from hub.config.camera import CameraConfig
from hub.config.hub import HubSettings
from hub.config.ingest import IngestSettings
from hub.config.motion import MotionSettings
from hub.config.recording import RecordingSettings
from hub.db.models import Camera, CameraStatus
from hub.runtime import HubRuntime

FPS = 10.0  # the bench scene's
GOP_S = 2.0
# Pictures in flight when the sender pauses: FFmpeg's H.264 parser and the hub's access-unit
# assembler each emit a picture only when the next one begins.
HELD_UNITS = 2
SETTLE_S = 3.0  # after the pause: packets in flight arrive, workers report (every second)
ONLINE_TIMEOUT_S = 120.0


@dataclass(slots=True)
class Trial:
    cameras: int
    seconds: float
    hub_cores: float = 0.0
    bare_cores: float = 0.0
    sim_cores: float = 0.0  # the simulator's share of the same machine, beside the hub
    processes: int = 0
    pss_bytes: int = 0
    rss_bytes: int = 0
    analysed_fps: list[float] = field(default_factory=list)
    # camera -> what went wrong, each kind once (a status is sampled every second)
    problems: dict[str, set[str]] = field(default_factory=dict)
    ring_reported: bool = True

    @property
    def passed(self) -> bool:
        return not self.problems

    def fail(self, camera_id: str, problem: str) -> None:
        self.problems.setdefault(camera_id, set()).add(problem)

    def summary(self) -> dict[str, Any]:
        fps = sorted(self.analysed_fps) or [0.0]
        return {
            "cameras": self.cameras,
            "passed": self.passed,
            "hub_cores": round(self.hub_cores, 3),
            "bare_cores": round(self.bare_cores, 3),
            "sim_cores": round(self.sim_cores, 3),
            "hub_processes": self.processes,
            "pss_mib": round(self.pss_bytes / 2**20),
            "rss_mib": round(self.rss_bytes / 2**20),
            "pss_mib_per_camera": round(self.pss_bytes / 2**20 / self.cameras, 1),
            "analysed_fps_min": round(fps[0], 2),
            "analysed_fps_median": round(statistics.median(fps), 2),
            "ring_fields_reported": self.ring_reported,
            "failed_cameras": len(self.problems),
            "cameras_with": {  # per kind of problem ("status", "packets", "ring", "reconnects")
                kind: sum(any(p.startswith(f"{kind}:") for p in found) for found in self.problems.values())
                for kind in sorted({p.split(":")[0] for found in self.problems.values() for p in found})
            },
            "examples": [f"{c}: {', '.join(sorted(p))}" for c, p in sorted(self.problems.items())[:5]],
        }


def _sub_media(main: Path) -> Path:
    return make_substream(main, CACHE / f"{main.stem}-sub-640x360.mp4", 640, 360)


def cameras_per_process() -> int:
    """``BENCH_CAMERAS_PER_PROCESS`` (default 1, the hub's default): ``ingest.cameras_per_process``."""
    return int(os.environ.get("BENCH_CAMERAS_PER_PROCESS", "1"))


def _settings(root: Path, port: int, count: int, recording: RecordingSettings) -> HubSettings:
    base = f"rtsp://127.0.0.1:{port}"
    return HubSettings(
        data_dir=root / "data",
        secret_key=SecretStr("bench-secret"),
        recording=recording,
        motion=MotionSettings(),
        ingest=IngestSettings(cameras_per_process=cameras_per_process()),
        cameras=[
            CameraConfig(id=f"cam{i}", url=f"{base}/cam{i}/main", sub_url=f"{base}/cam{i}/sub")
            for i in range(count)
        ],
    )


async def _wait_online(runtime: HubRuntime, count: int) -> None:
    supervisor = runtime.parts.supervisor
    deadline = time.monotonic() + ONLINE_TIMEOUT_S
    while time.monotonic() < deadline:
        live = supervisor.live()
        if len(live) == count and all(cam["packets"] for cam in live.values()):
            return
        await asyncio.sleep(0.5)
    waiting = sorted(c for c, cam in supervisor.live().items() if not cam["packets"])
    raise RuntimeError(f"{len(waiting)} camera(s) sent nothing in {ONLINE_TIMEOUT_S:g} s: {waiting[:5]}")


def _check_rings(trial: Trial, sample: dict[str, dict[str, Any]], recording: RecordingSettings) -> None:
    for camera_id, cam in sample.items():
        if "ring_seconds" not in cam:
            trial.ring_reported = False
            return
        if not cam["ring_starts_on_keyframe"]:
            trial.fail(camera_id, "ring: does not start on a keyframe")
        # Trimmed a whole GOP at a time, never below its length (one frame: first to last).
        if cam["ring_seconds"] < recording.ring_buffer_s - 1.5 / FPS:
            trial.fail(camera_id, f"ring: spans {cam['ring_seconds']:.1f} s of {recording.ring_buffer_s:g}")


async def _reconnects(runtime: HubRuntime) -> dict[str, int]:
    async with runtime.parts.sessions() as session:
        rows = await session.execute(select(Camera.id, Camera.reconnects))
        return {camera_id: count for camera_id, count in rows.tuples()}


async def _hub(sim: SimProcess, trial: Trial, root: Path, recording: RecordingSettings) -> None:
    runtime = HubRuntime(_settings(root, sim.port, trial.cameras, recording))
    await runtime.start()
    try:
        await _wait_online(runtime, trial.cameras)
        supervisor = runtime.parts.supervisor
        await asyncio.sleep(recording.ring_buffer_s + GOP_S + 2.0)  # the rings fill and trim
        pids = procstat.tree(os.getpid(), exclude=frozenset({sim.pid}))
        sim_cpu, cpu = procstat.cpu_seconds([sim.pid]), procstat.cpu_seconds(pids)
        started, first = time.monotonic(), supervisor.live()
        while time.monotonic() - started < trial.seconds:
            await asyncio.sleep(1.0)
            sample = supervisor.live()
            _check_rings(trial, sample, recording)
            for camera_id in sample:
                if supervisor.current.get(camera_id) is not CameraStatus.ONLINE:
                    trial.fail(camera_id, f"status: {supervisor.current.get(camera_id)}")
        pids = procstat.tree(os.getpid(), exclude=frozenset({sim.pid}))
        elapsed = time.monotonic() - started
        trial.hub_cores = procstat.usage_between(cpu, procstat.cpu_seconds(pids)).cpu_s / elapsed
        trial.sim_cores = procstat.usage_between(sim_cpu, procstat.cpu_seconds([sim.pid])).cpu_s / elapsed
        memory = procstat.memory(pids)
        trial.processes = memory.processes
        trial.pss_bytes, trial.rss_bytes = memory.pss_bytes, memory.rss_bytes
        last = supervisor.live()
        trial.analysed_fps = [
            (last[c]["frames_analysed"] - first[c]["frames_analysed"]) / elapsed for c in last if c in first
        ]
        await asyncio.to_thread(sim.command, "pause")
        await asyncio.sleep(SETTLE_S)
        sent, final = await asyncio.to_thread(sim.counts), supervisor.live()
        reconnects = await _reconnects(runtime)
        for i in range(trial.cameras):
            camera_id, expected = f"cam{i}", sent[f"cam{i}/main"]
            received = final.get(camera_id, {}).get("packets", 0)
            if not expected - HELD_UNITS <= received <= expected:
                trial.fail(camera_id, f"packets: received {received} of {expected} sent")
            if reconnects.get(camera_id):
                trial.fail(camera_id, f"reconnects: {reconnects[camera_id]}")
    finally:
        await runtime.stop()


def _trial(count: int, seconds: float, main: Path, sub: Path, recording: RecordingSettings) -> Trial:
    trial = Trial(count, seconds)
    with served(main, count, sub=sub) as sim, tempfile.TemporaryDirectory(prefix="bench-cams-") as tmp:
        base = f"rtsp://127.0.0.1:{sim.port}"
        urls = [f"{base}/cam{i}/{kind}" for i in range(count) for kind in ("main", "sub")]
        trial.bare_cores = demux_window(urls, seconds).cores
        asyncio.run(_hub(sim, trial, Path(tmp), recording))
    return trial


GOAL = 64
BISECT_STEP = 8  # after a failure, halve the gap to the last count that passed down to this


def _next_count(trials: list[Trial], quick: bool) -> int | None:
    """Rising counts, always up to the goal and on while they pass; then a bisection."""
    if quick:
        return [2, 4][len(trials)] if len(trials) < 2 else None
    tried = {t.cameras for t in trials}
    passed = [t.cameras for t in trials if t.passed]
    failed = [t.cameras for t in trials if not t.passed]
    for count in (16, 32, 48, GOAL):
        if count not in tried:
            return count
    if not failed:
        return trials[-1].cameras * 3 // 2 if trials[-1].cameras < 256 else None
    low, high = max(passed, default=0), min(failed)
    if high - low <= BISECT_STEP or low > high:
        return None
    middle = (low + high) // 2 // 4 * 4 or low + 1
    return middle if middle not in tried else None


def run(*, quick: bool) -> BenchResult:
    seconds = 6.0 if quick else 20.0
    # Quick: a short ring, so the warm-up is short too; the full run uses the hub's defaults.
    recording = RecordingSettings(pre_roll_s=2, ring_buffer_s=6) if quick else RecordingSettings()
    main = scene_720p(30.0)
    sub = _sub_media(main)
    logging.getLogger("hub").setLevel(logging.WARNING)
    load_before = os.getloadavg()[0]
    trials: list[Trial] = []
    while (count := _next_count(trials, quick)) is not None:
        trials.append(_trial(count, seconds, main, sub, recording))
        print(f"# {count} cameras: {trials[-1].summary()}", flush=True)
    passed = [t for t in trials if t.passed]
    best = max(passed, key=lambda t: t.cameras) if passed else trials[0]
    goal = 4 if quick else GOAL
    per_process = cameras_per_process()
    return BenchResult(
        name="cameras_at_once" if per_process == 1 else f"cameras_at_once_{per_process}_per_process",
        metric="cameras ingested at once (720p 2 Mbps main + 640x360 sub, motion on the sub), "
        "no dropped packet, ring buffers intact",
        value=best.cameras if passed else 0,
        unit="cameras",
        baseline=round(best.bare_cores, 3),
        goal=f"cameras >= {goal}; ratio = hub CPU / bare demux CPU (cores) of the same streams",
        ratio_override=best.hub_cores / best.bare_cores if best.bare_cores else None,
        details={
            "largest_passing": best.cameras if passed else 0,
            "cameras_per_process": per_process,
            "hub_cores": round(best.hub_cores, 3),
            "bare_cores": round(best.bare_cores, 3),
            "seconds": seconds,
            "ring_buffer_s": recording.ring_buffer_s,
            "trials": [t.summary() for t in trials],
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
    )
