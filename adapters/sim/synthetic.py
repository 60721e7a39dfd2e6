"""Synthetic surveillance clips with known ground truth.

A static, textured background (so the encoder has real work and motion detectors see noise-free
but non-flat pixels) with solid rectangles that cross the picture at known times. The clip is
encoded the way cameras encode: H.264, no B-frames, fixed GOP, optionally several slices per
picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class SceneObject:
    """A solid rectangle moving left to right: just off-screen at ``enter``, just gone at ``leave``."""

    enter: float
    leave: float
    size: tuple[int, int] = (80, 140)  # width, height in pixels
    top: float = 0.4  # top edge as a fraction of the picture height
    color: tuple[int, int, int] = (40, 40, 200)  # BGR


@dataclass(frozen=True, slots=True)
class SceneTruth:
    """What the clip really contains, for asserting detector and event results."""

    width: int
    height: int
    fps: int
    frames: int
    motion_intervals: tuple[tuple[float, float], ...]  # seconds, when at least one object is visible


DEFAULT_OBJECTS: tuple[SceneObject, ...] = (SceneObject(enter=6.0, leave=12.0),)


def make_background(width: int, height: int, *, seed: int = 7) -> Image:
    """A deterministic blurred noise texture over a gradient, as a BGR image."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(max(height // 8, 2), max(width // 8, 2), 3), dtype=np.uint8)
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    texture = cv2.GaussianBlur(texture, (0, 0), sigmaX=3.0)
    gradient = np.linspace(40, 160, width, dtype=np.float32)[np.newaxis, :, np.newaxis]
    mixed = 0.5 * texture.astype(np.float32) + 0.5 * gradient
    return np.clip(mixed, 0, 255).astype(np.uint8)


def object_box(obj: SceneObject, t: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The visible box ``(x0, y0, x1, y1)`` of ``obj`` at time ``t``, or None when it is off-screen."""
    if not obj.enter < t < obj.leave:
        return None
    w, h = obj.size
    progress = (t - obj.enter) / (obj.leave - obj.enter)
    left = round(-w + progress * (width + w))
    top = round(obj.top * height)
    x0, x1 = max(left, 0), min(left + w, width)
    y0, y1 = max(top, 0), min(top + h, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def render_frame(background: Image, objects: tuple[SceneObject, ...], t: float) -> Image:
    """The picture at time ``t``: the background with every visible object painted on it."""
    frame = background.copy()
    height, width = frame.shape[:2]
    for obj in objects:
        box = object_box(obj, t, width, height)
        if box is not None:
            x0, y0, x1, y1 = box
            frame[y0:y1, x0:x1] = obj.color
    return frame


def motion_intervals(objects: tuple[SceneObject, ...], seconds: float) -> tuple[tuple[float, float], ...]:
    """Merged ``(start, end)`` intervals, clipped to the clip, during which any object is visible."""
    spans = sorted((max(o.enter, 0.0), min(o.leave, seconds)) for o in objects if o.enter < seconds)
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def write_synthetic_scene(
    path: Path,
    *,
    width: int = 640,
    height: int = 360,
    fps: int = 10,
    seconds: float = 20.0,
    gop_seconds: float = 2.0,
    slices: int = 1,
    objects: tuple[SceneObject, ...] = DEFAULT_OBJECTS,
    preset: str = "veryfast",
    bitrate_kbps: int | None = None,
    noise: float = 0.0,
) -> SceneTruth:
    """Encode the scene to an mp4 file at ``path`` (blocking: run it off the event loop)."""
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even for yuv420p, got {width}x{height}")
    gop = round(gop_seconds * fps)
    if gop < 1:
        raise ValueError(f"GOP must be at least one frame, got {gop_seconds} s at {fps} fps")
    frames = round(seconds * fps)
    # threads=1: x264's sliced threads would add slices of their own and break ``slices``.
    params = [f"keyint={gop}", f"min-keyint={gop}", "scenecut=0", "bframes=0", "threads=1"]
    if slices > 1:
        params.append(f"slices={slices}")
    if bitrate_kbps is not None:
        # Constant bit rate, as cameras stream: the VBV caps every second at the target.
        params += [f"bitrate={bitrate_kbps}", f"vbv-maxrate={bitrate_kbps}", f"vbv-bufsize={bitrate_kbps}"]
    background = make_background(width, height)
    grain = np.random.default_rng(11)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.codec_context.max_b_frames = 0
        stream.codec_context.gop_size = gop
        stream.options = {"preset": preset, "x264-params": ":".join(params)}
        for index in range(frames):
            image = render_frame(background, objects, index / fps)
            if noise > 0:  # sensor grain: what makes real streams cost bits (and motion noisy)
                image = np.clip(image + grain.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return SceneTruth(
        width=width,
        height=height,
        fps=fps,
        frames=frames,
        motion_intervals=motion_intervals(objects, seconds),
    )
