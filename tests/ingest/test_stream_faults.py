"""The ingest fault matrix at hub level: simulated cameras misbehave, every event still gets its clip.

One hub (in this process, cameras in threads) records one simulated camera per fault at once, so
the whole matrix costs one scene's time per storage backend instead of one per fault. Each camera
plays the same 9 s loop (an object crosses from 4 s to 7 s); once its motion event is open, the
fault strikes. The tests then check each camera's clip as a player and an auditor would: it
decodes with no error, its frames and duration match the event's window (pre-roll, back to a
keyframe, + event + post-roll) within one GOP, its bytes hash to the sha256 in the event row and
in the object's metadata, and its codec and picture sizes are what the camera sent.

Every fault runs on the local store; H.264 and H.265 recording, multi-slice and the resolution
changes run on the real S3 server too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import av.error
import av.logging
import httpx
import pytest

from adapters.sim.faults import CameraFaults, FaultKind, parse_faults
from adapters.sim.media import Media, load_media
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.rtsp.streams import SimStream
from adapters.sim.substream import make_substream
from adapters.sim.synthetic import SceneObject, write_synthetic_scene
from hub.api.app import create_app
from hub.config.camera import CameraConfig
from hub.config.ingest import IngestSettings, WorkerIsolation
from hub.config.motion import MotionSettings
from hub.config.recording import RecordingSettings
from hub.config.storage import S3Settings, StorageBackend, StorageSettings
from hub.runtime import HubRuntime
from tests.fixtures.hub import API, make_settings
from tests.fixtures.seaweed import S3Endpoint

FPS = 10
GOP_S = 1.0
LOOP_S = 9.0  # one loop of the scene; the object crosses from 4 s to 7 s of every loop
WIDTH, HEIGHT = 320, 180
RESIZED = (160, 96)
PRE_ROLL_S, POST_ROLL_S = 2.0, 1.0
STALL_TIMEOUT_S = 1.5
SEGMENT_S = 5.0
SLACK_S = 0.5  # jitter of the hub's wall clock against the stream's timeline
MAX_LAG_S = 2.5  # how far the hub may read behind the camera on a loaded 2-core machine
CAMERA_TIMEOUT_S = 45.0

RECORDING = RecordingSettings(
    pre_roll_s=PRE_ROLL_S, post_roll_s=POST_ROLL_S, ring_buffer_s=8, merge_gap_s=0.5, segment_s=SEGMENT_S
)
MOTION = MotionSettings(warmup_s=0.5, end_quiet_s=1.0, analysis_fps=5)
INGEST = IngestSettings(
    # Cameras in threads of this process: ten worker processes would cost more than the streams.
    isolation=WorkerIsolation.THREAD,
    open_timeout_s=3.0,
    stall_timeout_s=STALL_TIMEOUT_S,
    reconnect_initial_s=0.05,
    reconnect_max_s=0.3,
    health_hold_s=0,  # every status change is an event: the record of offline and back online
)


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    media: str  # "h264", "h264_slices" or "hevc"
    sizes: tuple[tuple[int, int], ...] = ((WIDTH, HEIGHT),)  # what the clip must show, in order
    at_start: str = ""  # faults set before the camera starts (grammar of adapters.sim.faults)
    cuts: bool = False  # the stream breaks during the event: a second event must follow
    continuous: bool = False  # also check continuous segments and an export across the change

    @property
    def codec(self) -> str:
        return "hevc" if self.media == "hevc" else "h264"


FAULTS = {
    f.name: f
    for f in (
        Fault("multi_slice", "h264_slices"),
        Fault("hevc", "hevc"),
        Fault("resize", "h264", sizes=((WIDTH, HEIGHT), RESIZED), continuous=True),
        Fault("hevc_resize", "hevc", sizes=((WIDTH, HEIGHT), RESIZED), continuous=True),
        Fault("stall", "h264", cuts=True),
        Fault("reconnect", "h264", cuts=True),
        Fault("corrupt", "h264"),
        Fault("ts_jump", "h264"),
        Fault("ts_jump_back", "h264"),
        Fault("ts_wrap", "h264", at_start="ts_wrap@5.5"),
    )
}
S3_FAULTS = ("multi_slice", "hevc", "resize", "hevc_resize")
BACKEND_FAULTS = {"local": tuple(FAULTS), "s3": S3_FAULTS}
pytestmark = pytest.mark.asyncio(loop_scope="module")  # the hub of one run serves every test
CASES = [pytest.param("local", name, id=f"local-{name}") for name in FAULTS] + [
    pytest.param("s3", name, id=f"s3-{name}", marks=pytest.mark.s3) for name in S3_FAULTS
]
# A camera clock stepping back by less than a minute starves motion analysis for that long
# (adapters/rtsp/pyav_source.py samples frames by stream time and resets only after 60 s back), so
# the event, and its clip, run 8 s past the motion. The recording itself is right.
CASES[[c.id for c in CASES].index("local-ts_jump_back")] = pytest.param(
    "local",
    "ts_jump_back",
    id="local-ts_jump_back",
    marks=pytest.mark.xfail(
        raises=AssertionError, strict=True, reason="analysis starves after a camera clock steps back < 60 s"
    ),
)
OBJECT_EVENT_S = (2.0, 6.0)  # the object is in view for 3 s; the event closes after 1 s of quiet


# --- what a camera's run leaves behind ---------------------------------------------------------


@dataclass(slots=True)
class StoredClip:
    event: dict[str, Any]
    data: bytes
    metadata: dict[str, str]


@dataclass(slots=True)
class Outcome:
    fault: Fault
    failure: str | None = None  # why the run did not get what the checks need
    cut_at: float | None = None  # wall clock when the stream broke
    clips: list[StoredClip] = field(default_factory=list)  # the event the fault hit, then the next one
    health: list[dict[str, Any]] = field(default_factory=list)  # camera_offline/online events
    camera: dict[str, Any] = field(default_factory=dict)
    segments: list[dict[str, Any]] = field(default_factory=list)
    export: bytes = b""
    log: list[str] = field(default_factory=list)  # what happened, for the failure message


# --- media -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scene_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Media]:
    directory = tmp_path_factory.mktemp("fault-scenes")
    options: dict[str, Any] = {
        "width": WIDTH,
        "height": HEIGHT,
        "fps": FPS,
        "seconds": LOOP_S,
        "gop_seconds": GOP_S,
        "objects": (SceneObject(enter=4.0, leave=7.0, size=(60, 80)),),
        "preset": "ultrafast",
    }
    write_synthetic_scene(directory / "h264.mp4", **options)
    write_synthetic_scene(directory / "slices.mp4", slices=4, **options)
    hevc = make_substream(directory / "h264.mp4", directory / "hevc.mp4", WIDTH, HEIGHT, codec="hevc")
    return {
        "h264": load_media(directory / "h264.mp4"),
        "h264_slices": load_media(directory / "slices.mp4"),
        "hevc": load_media(hevc),
    }


# --- running the hub ---------------------------------------------------------------------------


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def scene_at(stream: SimStream, seconds: float) -> None:
    """Until the camera has played ``seconds`` of the loop it plays now (it plays on through stalls)."""
    units = len(stream.media.units)
    target = stream.loop.next_index // units * units + round(seconds * FPS)
    while True:
        if stream.loop.next_index >= target:
            return
        await asyncio.sleep(0.02)


async def fetch(client: httpx.AsyncClient, path: str) -> bytes:
    """Follow the API's 307 to the presigned URL (local links are served by the same app)."""
    response = await client.get(path)
    assert response.status_code == 307, response.text
    location = response.headers["location"]
    if location.startswith(str(client.base_url)):
        media = await client.get(location)
    else:
        async with httpx.AsyncClient() as outside:  # SeaweedFS on 127.0.0.1
            media = await outside.get(location)
    assert media.status_code == 200, media.text
    return media.content


@dataclass(slots=True)
class CameraRun:
    """Drives one simulated camera through its fault and collects what the hub recorded."""

    fault: Fault
    camera_id: str
    stream: SimStream
    faults: CameraFaults
    runtime: HubRuntime
    client: httpx.AsyncClient
    outcome: Outcome

    async def events(self, kind: str = "motion", **params: str) -> list[dict[str, Any]]:
        query = {"camera_id": self.camera_id, "kind": kind, "limit": "50", **params}
        items: list[dict[str, Any]] = (await self.client.get(f"{API}/events", params=query)).json()["items"]
        return sorted(items, key=lambda e: e["started_at"])

    async def until_open_event(self) -> dict[str, Any]:
        while True:
            if opened := await self.events(state="open"):
                self.outcome.log.append(f"event open at scene {self.stream.loop.next_index / FPS:.1f} s")
                return opened[0]
            await asyncio.sleep(0.1)

    async def strike(self) -> None:
        """The fault, once the event is open (or at a scene time inside it)."""
        name, faults = self.fault.name, self.faults
        if name in ("resize", "hevc_resize"):
            faults.add(f"resize@0:{RESIZED[0]}x{RESIZED[1]}")  # switches at a keyframe once encoded
        elif name == "corrupt":
            faults.add("corrupt:0.05")
            await scene_at(self.stream, 7.5)
            faults.clear(FaultKind.CORRUPT)
        elif name == "ts_jump":
            faults.add("ts_jump@0:2.5")  # a short step ahead: a camera resyncing its clock
        elif name == "ts_jump_back":
            faults.add("ts_jump@0:-8")
        elif name == "stall":
            await scene_at(self.stream, 6.0)
            self.outcome.cut_at = time.time()
            faults.add("stall@0:2.5")  # the hub gives up after STALL_TIMEOUT_S and reconnects
        elif name == "reconnect":
            await scene_at(self.stream, 6.5)  # the hub is back before the object is gone
            self.outcome.cut_at = time.time()
            self.stream.drop_sessions()
        self.outcome.log.append(f"{name} at scene {self.stream.loop.next_index / FPS:.1f} s")

    async def until_clips(self, count: int) -> list[dict[str, Any]]:
        """The first closed event, and for a broken stream the first one after the break."""
        while True:
            stored = [e for e in await self.events(state="closed") if e["clip"]["state"] == "stored"]
            wanted = stored[:1]
            if self.fault.cuts and stored and self.outcome.cut_at is not None:
                # The next loop's event, with its whole pre-roll recorded after the reconnect.
                back_by = self.outcome.cut_at + PRE_ROLL_S + GOP_S
                later = [e for e in stored[1:] if _ts(e["started_at"]) > back_by]
                wanted += later[:1]
            if len(wanted) >= count:
                return wanted
            await asyncio.sleep(0.25)

    async def until_segments_across_the_change(self) -> list[dict[str, Any]]:
        while True:
            body = (await self.client.get(f"{API}/cameras/{self.camera_id}/segments")).json()
            items: list[dict[str, Any]] = sorted(body["items"], key=lambda s: s["start_at"])
            stored = [s for s in items if s["state"] == "stored"]
            if any((s["width"], s["height"]) == RESIZED for s in stored):
                return stored
            await asyncio.sleep(0.2)

    async def run(self) -> None:
        outcome = self.outcome
        try:
            async with asyncio.timeout(CAMERA_TIMEOUT_S):
                await self.until_open_event()
                await self.strike()
                for event in await self.until_clips(2 if self.fault.cuts else 1):
                    key = event["clip"]["key"]
                    data = await fetch(self.client, event["links"]["clip"])
                    info = await self.runtime.parts.store.stat(key)
                    outcome.clips.append(StoredClip(event, data, dict(info.metadata)))
                if self.fault.continuous:
                    outcome.segments = await self.until_segments_across_the_change()
                    outcome.export = await self.export_across_the_change(outcome.segments)
                outcome.camera = (await self.client.get(f"{API}/cameras/{self.camera_id}")).json()
                for kind in ("camera_offline", "camera_online"):
                    outcome.health += await self.events(kind)
                outcome.health.sort(key=lambda e: e["started_at"])
        except TimeoutError:
            outcome.failure = f"timed out after {CAMERA_TIMEOUT_S:g} s; {'; '.join(outcome.log)}"
            outcome.failure += f"; events: {await self.events()}"
        except Exception as err:  # one camera's failure must not hide the other cameras' results
            outcome.failure = f"{type(err).__name__}: {err}; {'; '.join(outcome.log)}"

    async def export_across_the_change(self, segments: list[dict[str, Any]]) -> bytes:
        change = next(s for s in segments if (s["width"], s["height"]) == RESIZED)
        at = _ts(change["start_at"])
        params = {
            "start": datetime.fromtimestamp(at - 2.0).astimezone().isoformat(),
            "end": datetime.fromtimestamp(at + 2.0).astimezone().isoformat(),
        }
        response = await self.client.get(f"{API}/cameras/{self.camera_id}/export.mp4", params=params)
        assert response.status_code == 200, response.text
        assert "x-export-stopped" not in response.headers
        return response.content


def storage_for(backend: str, request: pytest.FixtureRequest) -> StorageSettings:
    if backend == "local":
        return StorageSettings(backend=StorageBackend.LOCAL)
    endpoint: S3Endpoint = request.getfixturevalue("s3_server")
    s3 = S3Settings(
        endpoint=endpoint.endpoint,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
        bucket=f"stream-faults-{uuid.uuid4().hex[:12]}",
    )
    return StorageSettings(backend=StorageBackend.S3, s3=s3)


@contextlib.asynccontextmanager
async def running_hub(
    tmp_path: Path, storage: StorageSettings, cameras: list[CameraConfig]
) -> AsyncIterator[tuple[HubRuntime, httpx.AsyncClient]]:
    """As tests.fixtures.hub's ``start_hub``, for a module-scoped run."""
    settings = make_settings(tmp_path, cameras=cameras, storage=storage, recording=RECORDING, motion=MOTION)
    settings.ingest = INGEST
    runtime = HubRuntime(settings)
    await runtime.start()
    transport = httpx.ASGITransport(app=create_app(runtime, manage_runtime=False))
    try:
        # The API's own address as base: local-store links point there, and the ASGI app serves them.
        async with httpx.AsyncClient(transport=transport, base_url=str(settings.api.public_url)) as client:
            yield runtime, client
    finally:
        await runtime.stop()


async def record(
    backend: str, storage: StorageSettings, media: dict[str, Media], directory: Path
) -> dict[str, Outcome]:
    """Every fault of ``backend`` recorded at once by one hub: one outcome per fault."""
    faults = [FAULTS[f] for f in BACKEND_FAULTS[backend]]
    server = RtspServer()
    states: dict[str, CameraFaults] = {}
    for fault in faults:
        states[fault.name] = CameraFaults(parse_faults(fault.at_start))  # its clock starts now
        server.add_stream(f"{fault.name}/main", media[fault.media], faults=states[fault.name])
    await server.start()  # the cameras' clocks start: the hub must be watching by 2 s
    try:
        cameras = [
            CameraConfig(
                id=f.name.replace("_", "-"), url=server.url(f"{f.name}/main"), continuous=f.continuous
            )
            for f in faults
        ]
        async with running_hub(directory, storage, cameras) as (runtime, client):
            runs = [
                CameraRun(
                    f, c.id, server.stream(f"{f.name}/main"), states[f.name], runtime, client, Outcome(f)
                )
                for f, c in zip(faults, cameras, strict=True)
            ]
            await asyncio.gather(*(run.run() for run in runs))
    finally:
        await server.stop()
    return {run.fault.name: run.outcome for run in runs}


@dataclass(slots=True)
class Recordings:
    """Each backend's run, made by the first test that asks for it and shared by the others."""

    media: dict[str, Media]
    factory: pytest.TempPathFactory
    done: dict[str, dict[str, Outcome]] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # runs that failed as a whole: why
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def outcome(self, backend: str, fault: str, request: pytest.FixtureRequest) -> Outcome:
        async with self.lock:
            if backend in self.broken:  # do not run it again for every test
                pytest.fail(f"the {backend} run failed: {self.broken[backend]}", pytrace=False)
            if backend not in self.done:
                directory = self.factory.mktemp(f"hub-{backend}")
                try:
                    self.done[backend] = await record(
                        backend, storage_for(backend, request), self.media, directory
                    )
                except Exception as err:
                    self.broken[backend] = f"{type(err).__name__}: {err}"
                    raise
        result = self.done[backend][fault]
        if result.failure is not None:
            pytest.fail(f"{fault}: {result.failure}", pytrace=False)
        return result


@pytest.fixture(scope="module")
def recordings(scene_media: dict[str, Media], tmp_path_factory: pytest.TempPathFactory) -> Recordings:
    return Recordings(scene_media, tmp_path_factory)


# --- reading a clip back -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Playback:
    codec: str
    tag: str
    sizes: list[tuple[int, int]]  # each decoded picture's
    packets: int
    first_is_keyframe: bool
    duration_s: float
    errors: list[tuple[str, str]]  # FFmpeg's messages at error level or worse: (component, text)
    undecodable: int  # packets the decoder refused


def play(data: bytes) -> Playback:
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture(local=False) as logs:
            with av.open(io.BytesIO(data), "r") as container:
                stream = container.streams.video[0]
                packets = [p for p in container.demux(stream) if p.size]
                assert stream.duration is not None and stream.time_base is not None
                duration_s = float(stream.duration * stream.time_base)
                ctx = stream.codec_context
                codec, tag = ctx.name, ctx.codec_tag
            sizes: list[tuple[int, int]] = []
            undecodable = 0
            with av.open(io.BytesIO(data), "r") as container:
                stream = container.streams.video[0]
                for packet in container.demux(stream):  # the last one flushes the decoder
                    try:
                        sizes += [(frame.width, frame.height) for frame in packet.decode()]
                    except av.error.InvalidDataError:  # a player skips it and goes on
                        undecodable += 1
    finally:
        av.logging.set_level(previous)
    errors = [(name, text) for level, name, text in logs if level <= av.logging.ERROR]
    return Playback(codec, tag, sizes, len(packets), packets[0].is_keyframe, duration_s, errors, undecodable)


def runs_of(sizes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The distinct sizes in the order they appear."""
    out: list[tuple[int, int]] = []
    for size in sizes:
        if not out or out[-1] != size:
            out.append(size)
    return out


def check_clip(stored: StoredClip, fault: Fault, *, cut_at: float | None = None) -> Playback:
    """Everything a stored clip must be; ``cut_at``: the stream broke then, before the post-roll."""
    event, clip = stored.event, stored.event["clip"]
    digest = hashlib.sha256(stored.data).hexdigest()
    assert digest == clip["sha256"] == stored.metadata["sha256"]
    assert len(stored.data) == clip["bytes"]
    assert stored.metadata["event"] == event["id"] and stored.metadata["camera"] == event["camera_id"]

    back = play(stored.data)
    assert back.first_is_keyframe
    assert back.codec == clip["codec"] == fault.codec
    assert back.tag == {"h264": "avc1", "hevc": "hev1"}[fault.codec] or len(fault.sizes) > 1
    assert back.packets == clip["frames"]
    if fault.name == "corrupt":
        # The hub records what the camera sent, damage included: the container is sound (only the
        # decoder complains), every picture is there, and most of them decode.
        assert {name for name, _ in back.errors} <= {fault.codec}, back.errors
        assert len(back.sizes) + back.undecodable == back.packets
        assert len(back.sizes) >= 0.8 * back.packets
    else:
        assert (back.errors, back.undecodable) == ([], 0)
        assert len(back.sizes) == back.packets  # every picture decodes
    assert back.duration_s == pytest.approx(clip["duration_s"], abs=0.01)
    assert back.duration_s == pytest.approx(back.packets / FPS, abs=1.5 / FPS)

    # The window: pre-roll (back to the keyframe before it: up to one GOP more) + event + post-roll.
    started, ended, clip_start = _ts(event["started_at"]), _ts(event["ended_at"]), _ts(clip["start_at"])
    assert started - PRE_ROLL_S - GOP_S - SLACK_S <= clip_start <= started - PRE_ROLL_S + SLACK_S
    clip_end = clip_start + back.duration_s
    last_frame = _ts(stored.metadata["end"])  # when the hub received the clip's last frame
    assert last_frame + 1 / FPS == pytest.approx(clip_end, abs=SLACK_S)
    if cut_at is None:
        assert ended + POST_ROLL_S - SLACK_S <= clip_end <= ended + POST_ROLL_S + SLACK_S
    else:
        # The video runs up to the break (received a little later on a busy machine), and the event
        # ends when the hub noticed: at once for a dropped connection, a stall time-out later.
        assert cut_at - SLACK_S <= last_frame <= cut_at + MAX_LAG_S
        assert 0 <= ended - last_frame <= 2 * STALL_TIMEOUT_S + SLACK_S
    return back


# --- the matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "fault"), CASES)
async def test_the_event_clip_survives_the_fault(
    recordings: Recordings, backend: str, fault: str, request: pytest.FixtureRequest
) -> None:
    outcome = await recordings.outcome(backend, fault, request)
    spec = outcome.fault
    first = outcome.clips[0]
    back = check_clip(first, spec, cut_at=outcome.cut_at)
    # The event itself follows the motion, whatever the stream's timestamps did. (A new picture
    # size restarts the motion background, whose ghost of the object may hold the event open.)
    events = outcome.clips[1:] if spec.cuts else outcome.clips if len(spec.sizes) == 1 else []
    for stored in events:
        low, high = OBJECT_EVENT_S
        assert low <= _ts(stored.event["ended_at"]) - _ts(stored.event["started_at"]) <= high
    assert runs_of(back.sizes) == list(spec.sizes)
    if len(spec.sizes) > 1:  # one file across the new SPS: parameter sets in the stream
        assert back.tag == {"h264": "avc3", "hevc": "hev1"}[spec.codec]
        assert (outcome.camera["live"]["width"], outcome.camera["live"]["height"]) == RESIZED
    if spec.cuts:
        # The hub lost the stream, said so, came back, and the next event has its whole clip.
        later = outcome.clips[1]
        check_clip(later, spec)
        kinds = [(e["kind"], e["details"]["status"]) for e in outcome.health]
        assert kinds[:2] == [("camera_offline", "offline"), ("camera_online", "online")], kinds
        assert outcome.health[0]["details"]["reason"], outcome.health[0]
        assert outcome.camera["reconnects"] >= 1
    else:
        # The fault did not break the stream.
        assert (outcome.health, outcome.camera["reconnects"]) == ([], 0)
    assert outcome.camera["status"] == "online"


@pytest.mark.parametrize(
    ("backend", "fault"),
    [
        pytest.param("local", "resize", id="local-resize"),
        pytest.param("local", "hevc_resize", id="local-hevc_resize"),
        pytest.param("s3", "resize", id="s3-resize", marks=pytest.mark.s3),
    ],
)
async def test_continuous_segments_and_exports_lose_nothing_at_a_resolution_change(
    recordings: Recordings, backend: str, fault: str, request: pytest.FixtureRequest
) -> None:
    outcome = await recordings.outcome(backend, fault, request)
    spec = outcome.fault
    segments = outcome.segments
    assert {s["codec"] for s in segments} == {spec.codec}
    assert runs_of([(s["width"], s["height"]) for s in segments]) == list(spec.sizes)
    for before, after in itertools.pairwise(segments):
        assert _ts(after["start_at"]) == pytest.approx(_ts(before["end_at"]), abs=1e-3)  # no gap
    exported = play(outcome.export)
    assert (exported.errors, exported.undecodable) == ([], 0)
    assert runs_of(exported.sizes) == list(spec.sizes)
    assert exported.tag == {"h264": "avc3", "hevc": "hev1"}[spec.codec]
    assert exported.duration_s == pytest.approx(4.0, abs=GOP_S + 0.2)  # ±2 s, from a keyframe
