"""The ingest section: how cameras are opened, watched and reconnected."""

from __future__ import annotations

import enum

from pydantic import Field, model_validator

from hub.config.base import StrictModel, check_failed


class WorkerIsolation(enum.StrEnum):
    PROCESS = "process"  # a worker process per camera: a stuck or crashing decoder hits one camera
    THREAD = "thread"  # the hub's own process: less memory, no isolation (debugging, tiny boxes)


class IngestSettings(StrictModel):
    enabled: bool = Field(
        True,
        title="Open cameras",
        description="False for a node that serves only the API (the cameras are streamed elsewhere).",
    )
    open_timeout_s: float = Field(
        10.0,
        gt=0,
        le=120,
        title="Open time-out",
        description="Seconds to connect and read stream parameters.",
    )
    stall_timeout_s: float = Field(
        10.0, gt=0, le=300, title="Stall time-out", description="Seconds without a packet before a reconnect."
    )
    reconnect_initial_s: float = Field(
        1.0,
        ge=0.01,
        le=600,
        title="First reconnect delay",
        description="Doubles after each failed attempt...",
    )
    reconnect_max_s: float = Field(
        60.0, ge=0.01, le=3600, title="Longest reconnect delay", description="...up to this (with jitter)."
    )

    isolation: WorkerIsolation = Field(
        WorkerIsolation.PROCESS,
        title="Camera isolation",
        description="process: each camera records and analyses in a worker process; thread: in the hub.",
    )
    cameras_per_process: int = Field(
        1,
        ge=1,
        le=64,
        title="Cameras per worker process",
        description="1: full isolation; more share a process (less CPU and memory on dense nodes).",
    )
    worker_timeout_s: float = Field(
        10.0,
        ge=2,
        le=600,
        title="Worker time-out",
        description="Seconds of silence (it reports every second) after which a camera worker is restarted.",
    )
    health_hold_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        title="Status event hold",
        description="A camera must stay offline (or back online) this long before an event is raised.",
    )

    @model_validator(mode="after")
    def _checks(self) -> IngestSettings:
        if self.reconnect_initial_s > self.reconnect_max_s:
            raise check_failed(
                f"reconnect_initial_s ({self.reconnect_initial_s:g}) must not exceed reconnect_max_s "
                f"({self.reconnect_max_s:g})",
                "reconnect_initial_s",
            )
        return self
