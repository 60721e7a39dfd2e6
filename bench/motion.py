"""Motion gating speed: the hub's MotionDetector against a bare OpenCV frame-difference loop."""

from __future__ import annotations

import time

import av
import cv2
import numpy as np
import numpy.typing as npt

from bench.media import scene_720p
from bench.result import BenchResult
from inference.motion import MotionDetector


def _frames(seconds: float) -> list[npt.NDArray[np.uint8]]:
    frames: list[npt.NDArray[np.uint8]] = []
    with av.open(str(scene_720p(seconds))) as container:
        for frame in container.decode(video=0):
            frames.append(np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8))
    return frames


def _bare(frames: list[npt.NDArray[np.uint8]]) -> None:
    """The baseline: downscale, grey, blur, diff against the previous frame, threshold."""
    previous = None
    for image in frames:
        small = cv2.resize(image, (320, 180))
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        if previous is not None:
            cv2.threshold(cv2.absdiff(grey, previous), 25, 255, cv2.THRESH_BINARY)
        previous = grey


def _hub(frames: list[npt.NDArray[np.uint8]]) -> None:
    detector = MotionDetector()
    for i, image in enumerate(frames):
        detector.detect(image, i / 10)


def run(*, quick: bool) -> BenchResult:
    frames = _frames(10.0 if quick else 30.0)
    repeats = 3 if quick else 5
    rates = {}
    for name, fn in (("bare", _bare), ("hub", _hub)):
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn(frames)
            best = min(best, time.perf_counter() - start)
        rates[name] = len(frames) / best
    return BenchResult(
        name="motion",
        metric="motion detection rate on 720p frames",
        value=round(rates["hub"]),
        unit="frames/s",
        baseline=round(rates["bare"]),
        goal="ratio >= 0.5 (background model, dilation and boxes at most double the bare diff)",
        details={"frames": len(frames)},
    )
