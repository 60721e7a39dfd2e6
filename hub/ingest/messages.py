"""What a camera worker and its host say to each other.

The worker (:mod:`hub.ingest.camera_worker`) owns the media: stream, ring buffer, clips,
segments, snapshots and motion analysis. The host (:mod:`hub.ingest.pipeline`) owns everything
shared: the database, the spool queue and the uploader. Messages are small picklable values (no
images, no packets), so the same ones travel through an in-process queue or a socket to a worker
process, and a slow database on the host never stalls the recording.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from adapters.onvif.models import CameraEvent
from hub.ingest.stats import StreamStats
from hub.recording.remux import ClipFacts
from inference.rules import RuleEvent

# --- worker -> host -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamOnline:
    """The recorded stream delivered its first packet."""


@dataclass(frozen=True, slots=True)
class StatsReport:
    """Sent about once a second: the worker's live figures (the host's heartbeat too)."""

    stats: StreamStats
    last_command: int  # camera events up to this number have been handled


@dataclass(frozen=True, slots=True)
class EventStarted:
    event_id: str  # chosen by the worker, so its clip can name the event before the row exists
    transition: RuleEvent
    recording: bool  # False: no stream now, the event is kept without a clip


@dataclass(frozen=True, slots=True)
class EventEnded:
    event_id: str
    ended_wallclock: float
    snapshot: tuple[str, str] | None  # spool keys of the snapshot and thumbnail, already written
    score: float


@dataclass(frozen=True, slots=True)
class ClipWritten:
    event_ids: tuple[str, ...]
    key: str  # written at the spool's path for this key
    facts: ClipFacts
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class ClipFailed:
    event_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class SegmentWritten:
    key: str
    facts: ClipFacts
    end_wallclock: float
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log record from a worker process, re-emitted by the host under the same logger name."""

    logger: str
    level: int
    message: str
    exc_text: str | None = None

    def relog(self) -> None:
        logger = logging.getLogger(self.logger)
        if logger.isEnabledFor(self.level):
            record = logging.makeLogRecord(
                {
                    "name": self.logger,
                    "levelno": self.level,
                    "levelname": logging.getLevelName(self.level),
                    "msg": self.message,
                    "exc_text": self.exc_text,
                }
            )
            logger.handle(record)


class Outcome(enum.StrEnum):
    STOPPED = "stopped"  # asked to stop
    ENDED = "ended"  # the stream ended cleanly
    OFFLINE = "offline"  # SourceError
    UNAUTHORIZED = "unauthorized"  # SourceUnauthorized
    ERROR = "error"  # a bug in the worker


@dataclass(frozen=True, slots=True)
class WorkerFinished:
    """The last message: why the worker ended, and the last command it handled."""

    outcome: Outcome
    reason: str
    last_command: int


WorkerMessage = (
    StreamOnline
    | StatsReport
    | EventStarted
    | EventEnded
    | ClipWritten
    | ClipFailed
    | SegmentWritten
    | LogLine
    | WorkerFinished
)

# --- host -> worker -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CameraEventCommand:
    """A camera-side ONVIF event, numbered so the host knows which ones the worker saw."""

    seq: int
    event: CameraEvent


@dataclass(frozen=True, slots=True)
class StopCommand:
    """End open events, write clips in progress, then finish."""


WorkerCommand = CameraEventCommand | StopCommand
