"""Test media for benchmarks, generated once into a cache directory outside the repository."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from adapters.sim.synthetic import SceneObject, write_synthetic_scene

CACHE = Path(os.environ.get("HUB_BENCH_CACHE", Path(tempfile.gettempdir()) / "sharp-eyes-bench"))


def scene_720p(seconds: float) -> Path:
    """A 1280x720 10 fps H.264 scene at 2 Mbps CBR with grain, objects moving through it."""
    path = CACHE / f"scene-720p-2mbps-{seconds:g}s.mp4"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        objects = tuple(
            SceneObject(enter=t, leave=t + 5.0, size=(160, 280)) for t in range(1, int(seconds), 4)
        )
        write_synthetic_scene(
            path,
            width=1280,
            height=720,
            fps=10,
            seconds=seconds,
            objects=objects,
            bitrate_kbps=2000,
            noise=4.0,
        )
    return path


EVENT_LOOP_S = 16.0  # one event per loop of the clip; quiet long enough that clips never merge
EVENT_MOTION = (1.0, 4.0)  # when the object crosses the picture in each loop


def event_scene_720p() -> Path:
    """Like :func:`scene_720p`, but one object crossing per ``EVENT_LOOP_S``: one motion event
    per loop when the simulator plays it over and over."""
    path = CACHE / f"events-720p-2mbps-{EVENT_LOOP_S:g}s.mp4"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.partial.mp4")
        enter, leave = EVENT_MOTION
        write_synthetic_scene(
            partial,
            width=1280,
            height=720,
            fps=10,
            seconds=EVENT_LOOP_S,
            objects=(SceneObject(enter=enter, leave=leave, size=(200, 320)),),
            bitrate_kbps=2000,
            noise=4.0,
        )
        partial.replace(path)
    return path
