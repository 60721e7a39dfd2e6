"""Camera health over time: damped status events and uptime over a sliding window.

The API shows a camera's raw status at once; the *events* that reach the grid system are damped:
a camera has to stay bad for ``hold_s`` before an "offline" event is raised, and stay good for
``hold_s`` before the matching "back online" event. A camera flapping every few seconds raises
one event, not hundreds. Pure logic: times are passed in, nothing is awaited.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from hub.db.models import CameraStatus

GOOD = frozenset({CameraStatus.ONLINE, CameraStatus.DEGRADED})
# States in which a camera has not been heard from yet (start-up): neither good nor bad.
PENDING = frozenset({CameraStatus.UNKNOWN, CameraStatus.CONNECTING})
WINDOW_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """A damped status change for the grid system."""

    kind: str  # "camera_offline" | "camera_online"
    status: CameraStatus
    reason: str
    since: float  # when the state that this event reports began


class HealthTracker:
    def __init__(self, *, hold_s: float = 30.0, window_s: float = WINDOW_S) -> None:
        self.hold_s = hold_s
        self.window_s = window_s
        self._reported_good: bool | None = None  # what the last event told the grid system
        self._candidate: tuple[bool, CameraStatus, str, float] | None = None
        self._intervals: collections.deque[tuple[float, float, bool]] = collections.deque()
        self._current: tuple[float, bool] | None = None  # start, good?

    def observe(self, status: CameraStatus, reason: str, now: float) -> list[HealthEvent]:
        """Record the raw status at ``now``; returns the damped events now due."""
        if status in PENDING:
            return self.tick(now)
        good = status in GOOD
        if self._current is None or self._current[1] != good:
            if self._current is not None:
                self._intervals.append((self._current[0], now, self._current[1]))
            self._current = (now, good)
        if self._candidate is None or self._candidate[0] != good:
            self._candidate = (good, status, reason, now)
        elif not good:
            self._candidate = (good, status, reason, self._candidate[3])  # keep the latest reason
        return self.tick(now)

    def tick(self, now: float) -> list[HealthEvent]:
        """Call periodically: emits an event once a new state has held for ``hold_s``."""
        candidate = self._candidate
        if candidate is None:
            return []
        good, status, reason, since = candidate
        if good == self._reported_good or now - since < self.hold_s:
            return []
        first = self._reported_good is None
        self._reported_good = good
        if first and good:
            return []  # a camera that simply came up is not news
        kind = "camera_online" if good else "camera_offline"
        return [HealthEvent(kind, status, reason, since)]

    def uptime(self, now: float) -> float:
        """Share of the last ``window_s`` (or since first observed) that the camera was good."""
        start = now - self.window_s
        while self._intervals and self._intervals[0][1] <= start:
            self._intervals.popleft()
        spans = list(self._intervals)
        if self._current is not None:
            spans.append((self._current[0], now, self._current[1]))
        if not spans:
            return 0.0
        observed_from = max(start, spans[0][0])
        total = now - observed_from
        if total <= 0:
            return 1.0 if spans[-1][2] else 0.0
        good = sum(
            min(end, now) - max(begin, observed_from)
            for begin, end, ok in spans
            if ok and end > observed_from
        )
        return max(0.0, min(1.0, good / total))
