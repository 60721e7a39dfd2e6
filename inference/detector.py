"""The detector contract: one frame in, detections out.

Detectors are synchronous and CPU-bound; the pipeline calls them from a worker thread or process,
never on the event loop. Boxes are in pixel coordinates of the frame that was passed in.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from adapters.source import BGRImage


@dataclass(frozen=True, slots=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class Detection:
    """One thing seen in one frame: an object class ("person", "car") or a region of "motion"."""

    label: str
    confidence: float  # 0..1
    box: Box


class Detector(abc.ABC):
    """Turns a BGR frame into detections. Implementations keep their own state (e.g. a background model)."""

    name: str = "detector"

    @abc.abstractmethod
    def detect(self, image: BGRImage, timestamp: float) -> list[Detection]:
        """Detections in ``image`` (taken at ``timestamp`` seconds, wall clock)."""
