"""The motion rule: an event opens after a few frames with motion and closes after a quiet spell."""

from __future__ import annotations

from dataclasses import dataclass

from inference.detector import Detection
from inference.rules import Phase, Rule, RuleEvent, Severity


@dataclass(frozen=True, slots=True)
class MotionRuleParams:
    start_frames: int = 2  # consecutive frames with motion before an event opens (noise filter)
    end_quiet_s: float = 2.0  # seconds without motion before it closes
    warmup_s: float = 2.0  # ignore the first seconds of a stream while the background settles
    severity: Severity = Severity.YELLOW


class MotionRule(Rule):
    name = "motion"

    def __init__(self, params: MotionRuleParams | None = None) -> None:
        self.params = params or MotionRuleParams()
        self._first_seen: float | None = None
        self._streak = 0
        self._open = False
        self._last_motion = 0.0
        self._best = 0.0
        self._count = 0

    def _key(self) -> str:
        return f"motion-{self._count}"

    def evaluate(self, detections: list[Detection], timestamp: float) -> list[RuleEvent]:
        p = self.params
        if self._first_seen is None:
            self._first_seen = timestamp
        if timestamp - self._first_seen < p.warmup_s:
            return []
        motion = [d for d in detections if d.label == "motion"]
        score = max((d.confidence for d in motion), default=0.0)
        if motion:
            self._streak += 1
            self._last_motion = timestamp
        else:
            self._streak = 0
        if not self._open:
            if self._streak >= p.start_frames:
                self._open = True
                self._count += 1
                self._best = score
                return [self._event(Phase.START, timestamp, score, motion)]
            return []
        if motion and score > self._best:
            self._best = score
            return [self._event(Phase.UPDATE, timestamp, score, motion)]
        if not motion and timestamp - self._last_motion >= p.end_quiet_s:
            return self._close(timestamp)
        return []

    def flush(self, timestamp: float) -> list[RuleEvent]:
        return self._close(timestamp) if self._open else []

    def _close(self, timestamp: float) -> list[RuleEvent]:
        self._open = False
        self._streak = 0
        return [self._event(Phase.END, timestamp, self._best, [])]

    def _event(self, phase: Phase, timestamp: float, score: float, motion: list[Detection]) -> RuleEvent:
        return RuleEvent(
            phase=phase,
            key=self._key(),
            kind="motion",
            severity=self.params.severity,
            timestamp=timestamp,
            score=score,
            detections=tuple(motion),
        )
