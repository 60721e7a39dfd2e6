"""The rule contract: detections over time in, events out.

A rule sees every analysed frame's detections, in time order, and answers with zero or more
:class:`RuleEvent` transitions. An event has a life: ``START`` (it opened), ``UPDATE`` (a better
frame or a higher score), ``END`` (it closed). The pipeline turns these into stored events with
clips; a rule never touches storage or the database.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field

from inference.detector import Detection


class Severity(enum.StrEnum):
    """Grid-system urgency: red (act now), orange (act soon), yellow (review)."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"


class Phase(enum.StrEnum):
    START = "start"
    UPDATE = "update"
    END = "end"


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """One transition of one event, keyed by ``key`` (unique per rule and camera while open)."""

    phase: Phase
    key: str
    kind: str  # "motion", "intrusion", "loitering", ...
    severity: Severity
    timestamp: float  # wall clock of the frame that caused the transition
    score: float = 0.0
    detections: tuple[Detection, ...] = field(default=())


class Rule(abc.ABC):
    """Stateful per camera: one instance per pipeline."""

    name: str = "rule"

    @abc.abstractmethod
    def evaluate(self, detections: list[Detection], timestamp: float) -> list[RuleEvent]:
        """Transitions caused by one frame's detections."""

    @abc.abstractmethod
    def flush(self, timestamp: float) -> list[RuleEvent]:
        """End every open event (the stream stopped or the hub is shutting down)."""
