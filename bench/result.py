"""The JSON every benchmark prints and writes to ``bench/results/NAME.json``."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class BenchResult:
    name: str
    metric: str
    value: float
    unit: str
    baseline: float
    goal: str  # e.g. "ratio >= 0.8": what "good" means for this benchmark
    higher_is_better: bool = True
    details: dict[str, Any] = field(default_factory=dict)
    # For a benchmark whose value is not in the baseline's unit (cameras_at_once: a camera count
    # against the CPU of a bare demux), the ratio of the figures it names in ``details``.
    ratio_override: float | None = None

    @property
    def ratio(self) -> float:
        if self.ratio_override is not None:
            return round(self.ratio_override, 3)
        return round(self.value / self.baseline, 3) if self.baseline else float("nan")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["ratio_override"]
        data["ratio"] = self.ratio
        data["machine"] = {"cpus": _cpus(), "python": platform.python_version()}
        data["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return data

    def write(self, quick: bool) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.name}{'.quick' if quick else ''}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
