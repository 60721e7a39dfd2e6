"""The host side of a camera pipeline, driven by a scripted worker: what it writes, in what order,
and what it settles when the worker dies."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.onvif.models import CameraEvent
from adapters.source import SourceUnauthorized
from hub.config.camera import CameraConfig
from hub.db import migrate
from hub.db.engine import create_engine, session_factory
from hub.db.models import Event, EventState, MediaState
from hub.events.store import EventStore
from hub.ingest.messages import (
    CameraEventCommand,
    ClipWritten,
    EventEnded,
    EventStarted,
    LogLine,
    Outcome,
    StatsReport,
    StopCommand,
    WorkerCommand,
    WorkerFinished,
    WorkerMessage,
)
from hub.ingest.pipeline import CameraPipeline, PipelineContext, PipelineCrashed
from hub.ingest.stats import StreamStats
from hub.ingest.worker_link import WorkerLink
from hub.media.spool import MediaSpool, SpoolEntry
from hub.media.uploader import MediaUploader
from hub.recording.remux import ClipFacts
from inference.rules import Phase, RuleEvent, Severity
from storage.local import LocalObjectStore
from tests.fixtures.hub import add_camera

Sessions = async_sessionmaker[AsyncSession]


class ScriptedLink(WorkerLink):
    """Plays back messages; ``None`` in the script is the worker vanishing."""

    def __init__(self, script: list[WorkerMessage | None], *, hold: asyncio.Event | None = None) -> None:
        self.script = script
        self.sent: list[WorkerCommand] = []
        self.hold = hold  # receive() waits for this before the script's last item
        self.closed = False
        self.holding = asyncio.Event()  # set once receive() waits on ``hold``

    async def start(self) -> None:
        pass

    def send(self, command: WorkerCommand) -> None:
        self.sent.append(command)

    async def receive(self) -> WorkerMessage | None:
        if len(self.script) == 1 and self.hold is not None:
            self.holding.set()
            await self.hold.wait()
        return self.script.pop(0) if self.script else None

    async def close(self) -> None:
        self.closed = True

    def exit_description(self) -> str:
        return "killed by SIGKILL"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    made = session_factory(engine)
    await add_camera(made, "cam")
    yield made
    await engine.dispose()


def _pipeline(
    tmp_path: Path, sessions: Sessions, link: WorkerLink, *, timeout_s: float = 5.0
) -> CameraPipeline:
    spool = MediaSpool(tmp_path / "spool", max_bytes=1 << 30)
    spool.open()
    store = LocalObjectStore(tmp_path / "store", signing_key=b"k", base_url="http://hub.test")
    uploader = MediaUploader(spool, store, on_stored=_nothing, on_evicted=_nothing)
    events = EventStore(sessions, on_ticket=lambda: None)
    ctx = PipelineContext(events, spool, uploader, lambda _camera: link, heartbeat_timeout_s=timeout_s)
    return CameraPipeline(CameraConfig(id="cam", url="rtsp://127.0.0.1:9/cam"), ctx)


async def _nothing(_entry: SpoolEntry) -> None:
    pass


async def _online() -> None:
    pass


def _start(event_id: str, at: float, *, recording: bool = True) -> EventStarted:
    transition = RuleEvent(Phase.START, "motion", "motion", Severity.YELLOW, at, 0.4)
    return EventStarted(event_id, transition, recording)


async def _event(sessions: Sessions, event_id: str) -> Event:
    async with sessions() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        return event


async def test_messages_become_rows_and_spool_entries_in_order(tmp_path: Path, sessions: Sessions) -> None:
    now = time.time()
    spool_file = tmp_path / "spool" / "clips" / "cam" / "a.mp4"
    facts = ClipFacts(spool_file, "h264", 320, 180, 40, 4.0, 1234, "ab" * 32, now - 5, now - 1)
    stats = StreamStats(packets=40)
    link = ScriptedLink(
        [
            StatsReport(stats, 0),
            _start("e-1", now - 3),
            EventEnded("e-1", now - 2, None, 0.9),
            ClipWritten(("e-1",), "clips/cam/a.mp4", facts, {"camera": "cam", "sha256": facts.sha256}),
            WorkerFinished(Outcome.STOPPED, "stopped", 0),
        ]
    )
    pipeline = _pipeline(tmp_path, sessions, link)
    spool_file.parent.mkdir(parents=True)
    spool_file.write_bytes(b"x" * 1234)

    await pipeline.run(_online)

    event = await _event(sessions, "e-1")
    assert (event.state, event.clip_state) == (EventState.CLOSED, MediaState.SPOOLED)
    assert event.clip_key == "clips/cam/a.mp4"
    assert (event.clip_frames, event.clip_sha256, event.score) == (40, "ab" * 32, 0.9)
    assert [e.key for e in pipeline.ctx.spool.pending()] == ["clips/cam/a.mp4"]
    assert pipeline.ctx.spool.pending()[0].metadata == {"camera": "cam", "sha256": "ab" * 32}
    assert pipeline.stats.packets == 40
    assert link.closed


async def test_a_vanished_worker_leaves_no_event_open_and_no_clip_recording(
    tmp_path: Path, sessions: Sessions
) -> None:
    now = time.time()
    link = ScriptedLink([_start("e-1", now - 3), _start("e-2", now - 2, recording=False), None])
    pipeline = _pipeline(tmp_path, sessions, link)

    with pytest.raises(PipelineCrashed, match=r"^camera worker died \(killed by SIGKILL\)$"):
        await pipeline.run(_online)

    first, second = await _event(sessions, "e-1"), await _event(sessions, "e-2")
    assert (first.state, first.clip_state) == (EventState.CLOSED, MediaState.FAILED)
    assert first.details["clip_error"] == "camera worker died (killed by SIGKILL)"
    assert (second.state, second.clip_state) == (EventState.CLOSED, MediaState.NONE)


async def test_a_silent_worker_counts_as_hung(tmp_path: Path, sessions: Sessions) -> None:
    link = ScriptedLink([_start("e-1", time.time()), None], hold=asyncio.Event())
    pipeline = _pipeline(tmp_path, sessions, link, timeout_s=0.2)

    with pytest.raises(PipelineCrashed, match=r"^camera worker hung \(silent for 0.2 s\)$"):
        await pipeline.run(_online)
    assert (await _event(sessions, "e-1")).state == EventState.CLOSED


@pytest.mark.parametrize(
    ("outcome", "error"),
    [(Outcome.UNAUTHORIZED, SourceUnauthorized), (Outcome.ERROR, PipelineCrashed)],
)
async def test_the_worker_outcome_is_raised_as_the_camera_failure(
    tmp_path: Path, sessions: Sessions, outcome: Outcome, error: type[Exception]
) -> None:
    link = ScriptedLink([WorkerFinished(outcome, "401 from the camera", 0)])
    with pytest.raises(error, match=r"^401 from the camera$"):
        await _pipeline(tmp_path, sessions, link).run(_online)


def _tamper(state: bool) -> CameraEvent:
    return CameraEvent("tamper", state, dt.datetime.now(dt.UTC), None, "Changed")


async def _tamper_events(sessions: Sessions) -> list[Event]:
    async with sessions() as session:
        return list((await session.scalars(select(Event).where(Event.kind == "tamper"))).all())


async def test_camera_events_the_worker_never_handled_are_recorded_by_the_host(
    tmp_path: Path, sessions: Sessions
) -> None:
    release = asyncio.Event()
    # The worker reports having handled nothing, then dies: the tamper start must not be lost.
    link = ScriptedLink([StatsReport(StreamStats(), 0), None], hold=release)
    pipeline = _pipeline(tmp_path, sessions, link)
    running = asyncio.create_task(pipeline.run(_online))
    await link.holding.wait()
    await pipeline.on_camera_event(_tamper(True))
    assert isinstance(link.sent[-1], CameraEventCommand)
    release.set()
    with pytest.raises(PipelineCrashed):
        await running

    (tamper,) = await _tamper_events(sessions)
    assert (tamper.state, tamper.clip_state) == (EventState.OPEN, MediaState.NONE)
    # With no worker running, the end is recorded by the host too, closing the same event.
    await pipeline.on_camera_event(_tamper(False))
    (tamper,) = await _tamper_events(sessions)
    assert tamper.state == EventState.CLOSED


async def test_stop_before_the_worker_started_is_passed_on(tmp_path: Path, sessions: Sessions) -> None:
    link = ScriptedLink([WorkerFinished(Outcome.STOPPED, "stopped", 0)])
    pipeline = _pipeline(tmp_path, sessions, link)
    pipeline.stop()
    await pipeline.run(_online)
    assert link.sent == [StopCommand()]


async def test_worker_log_lines_are_logged_under_their_own_name(
    tmp_path: Path, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters")
    link = ScriptedLink(
        [
            LogLine("adapters.rtsp.pyav_source", logging.WARNING, "cam: 100% late", "Traceback: x"),
            LogLine("adapters.rtsp.pyav_source", logging.DEBUG, "cam: not shown", None),
            WorkerFinished(Outcome.ENDED, "stream ended", 0),
        ]
    )
    await _pipeline(tmp_path, sessions, link).run(_online)
    records = [r for r in caplog.records if r.name == "adapters.rtsp.pyav_source"]
    assert [(r.levelno, r.getMessage(), r.exc_text) for r in records] == [
        (logging.WARNING, "cam: 100% late", "Traceback: x")
    ]
