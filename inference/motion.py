"""Motion gating: a running-average background and frame differencing, on a downscaled grey image.

Cheap enough to run on every analysed frame of every camera; detectors that cost more run only
while motion is seen. Boxes come back in the coordinates of the full-size frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from adapters.source import BGRImage
from inference.detector import Box, Detection, Detector


@dataclass(frozen=True, slots=True)
class MotionParams:
    downscale_width: int = 320
    threshold: int = 25  # grey-level difference that counts as change
    min_area_fraction: float = 0.005  # ignore blobs smaller than this share of the picture
    background_rate: float = 0.05  # how fast the background adapts (lighting drift)
    blur: int = 5


_KERNEL = np.ones((3, 3), np.uint8)


class MotionDetector(Detector):
    name = "motion"

    def __init__(self, params: MotionParams | None = None) -> None:
        self.params = params or MotionParams()
        self._background: npt.NDArray[np.float32] | None = None
        self.last_fraction = 0.0

    def reset(self) -> None:
        self._background = None

    def detect(self, image: BGRImage, timestamp: float) -> list[Detection]:
        p = self.params
        height, width = image.shape[:2]
        scale = min(1.0, p.downscale_width / width)
        small = cv2.resize(image, (max(1, int(width * scale)), max(1, int(height * scale))))
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        grey = cv2.GaussianBlur(grey, (p.blur, p.blur), 0)
        if self._background is None or self._background.shape != grey.shape:
            self._background = grey.astype(np.float32)
            self.last_fraction = 0.0
            return []
        diff = cv2.absdiff(grey, cv2.convertScaleAbs(self._background))
        _, mask = cv2.threshold(diff, p.threshold, 255, cv2.THRESH_BINARY)
        mask = cv2.dilate(mask, _KERNEL, iterations=2)
        cv2.accumulateWeighted(grey, self._background, p.background_rate)
        area = float(mask.shape[0] * mask.shape[1])
        self.last_fraction = float(np.count_nonzero(mask)) / area
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        detections: list[Detection] = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            fraction = (w * h) / area
            if fraction < p.min_area_fraction:
                continue
            box = Box(int(x / scale), int(y / scale), int(w / scale), int(h / scale))
            detections.append(Detection("motion", min(1.0, fraction * 10), box))
        return detections
