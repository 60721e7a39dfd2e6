"""Continuous recording: a camera's segment index, and any range of it exported as one MP4."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path as FsPath
from typing import Annotated, Any

import av
from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import Problem
from hub.api.schemas import CAMERA_ID_EXAMPLE, Page, problem_doc, problem_example
from hub.api.schemas_recordings import SegmentOut
from hub.db.models import Camera, Segment
from hub.recording.export import ExportFacts, SegmentFile, export_range
from hub.recording.segment_index import covering, list_segments
from hub.runtime import RuntimeParts
from storage.errors import ObjectNotFound, StorageError

router = APIRouter(prefix="/cameras", tags=["recordings"])

MAX_EXPORT = timedelta(hours=1)
# What stitching raises: a segment PyAV cannot read, a full or vanished temp dir, no video in range.
EXPORT_ERRORS = (av.FFmpegError, OSError, ValueError)

CameraId = Annotated[str, Path(description="The camera's id", examples=[CAMERA_ID_EXAMPLE])]
_BASE = f"/api/v1/cameras/{CAMERA_ID_EXAMPLE}"
_START_EXAMPLE, _END_EXAMPLE = "2024-05-01T12:03:30Z", "2024-05-01T12:05:00Z"
_INVALID = problem_doc(
    "The range is invalid: not in time order, longer than an hour or without a time zone",
    problem_example(422, "Request is invalid", "end must be after start", f"{_BASE}/export.mp4"),
)
_NO_CAMERA = problem_doc(
    "No such camera",
    problem_example(404, "Camera not found", f"no camera {CAMERA_ID_EXAMPLE!r}", f"{_BASE}/segments"),
)
_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One MP4 stitched from the segments without re-encoding; it starts on the "
        "keyframe at or before ``start``. The headers give the range it really covers.",
        "content": {
            "video/mp4": {
                "schema": {"type": "string", "format": "binary", "description": "An H.264/HEVC MP4"}
            }
        },
        "headers": {
            "X-Export-Start": {
                "description": "Wall clock of the first frame",
                "schema": {"type": "string"},
                "example": _START_EXAMPLE,
            },
            "X-Export-End": {
                "description": "Wall clock of the last frame's end",
                "schema": {"type": "string"},
                "example": _END_EXAMPLE,
            },
            "X-Export-Stopped": {
                "description": "Only when the export ends early: why (the camera changed codec)",
                "schema": {"type": "string"},
                "example": "the codec changes at 2024-05-01T12:04:10+00:00 (hevc 1280x720)",
            },
        },
    },
    404: problem_doc(
        "No segment of the camera covers the range",
        problem_example(
            404,
            "No recording",
            f"camera {CAMERA_ID_EXAMPLE!r} has no recording from {_START_EXAMPLE} to {_END_EXAMPLE}",
            f"{_BASE}/export.mp4",
        ),
    ),
    422: _INVALID,
    503: problem_doc(
        "The object store cannot serve the segments now; see Retry-After",
        problem_example(
            503,
            "Object store unavailable",
            "object store unreachable: connect timeout",
            f"{_BASE}/export.mp4",
        ),
        **{"Retry-After": "10"},
    ),
}


def segment_out(row: Segment) -> SegmentOut:
    return SegmentOut(
        id=row.id,
        camera_id=row.camera_id,
        key=row.key,
        start_at=row.start_at,
        end_at=row.end_at,
        duration_s=row.duration_s,
        frames=row.frames,
        bytes=row.bytes,
        codec=row.codec,
        width=row.width,
        height=row.height,
        sha256=row.sha256,
        state=row.state,
    )


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Problem(422, "Request is invalid", f"{name} must carry a time zone (e.g. Z)")
    return value


@router.get(
    "/{camera_id}/segments",
    response_model=Page[SegmentOut],
    summary="The camera's continuous-recording segments, oldest first",
    responses={404: _NO_CAMERA, 422: _INVALID},
)
async def get_segments(
    camera_id: CameraId,
    session: SessionDep,
    since: Annotated[
        datetime | None, Query(description="Segments ending after (ISO 8601)", examples=[_START_EXAMPLE])
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Segments starting before (ISO 8601)", examples=[_END_EXAMPLE])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[SegmentOut]:
    if await session.get(Camera, camera_id) is None:
        raise Problem(404, "Camera not found", f"no camera {camera_id!r}")
    total, rows = await list_segments(
        session,
        camera_id=camera_id,
        since=_aware("since", since),
        until=_aware("until", until),
        limit=limit,
        offset=offset,
    )
    return Page(items=[segment_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/{camera_id}/export.mp4",
    response_class=FileResponse,
    summary="Export a time range of the camera's recording as one MP4",
    responses=_EXPORT_RESPONSES,
)
async def export(
    camera_id: CameraId,
    session: SessionDep,
    parts: PartsDep,
    start: Annotated[datetime, Query(description="Range start (ISO 8601)", examples=[_START_EXAMPLE])],
    end: Annotated[datetime, Query(description="Range end (ISO 8601)", examples=[_END_EXAMPLE])],
) -> FileResponse:
    start, end = _aware("start", start) or start, _aware("end", end) or end
    if end <= start:
        raise Problem(422, "Request is invalid", "end must be after start")
    if end - start > MAX_EXPORT:
        raise Problem(422, "Request is invalid", "the range must not be longer than 1 hour")
    rows = await covering(session, camera_id=camera_id, start=start, end=end)
    wanted = [(r.key, r.start_at.timestamp()) for r in rows]
    await session.close()  # no database connection held while the segments are fetched
    missing = Problem(
        404,
        "No recording",
        f"camera {camera_id!r} has no recording from {start.isoformat()} to {end.isoformat()}",
    )
    if not wanted:
        raise missing
    workdir = FsPath(tempfile.mkdtemp(prefix="export-"))
    try:
        files = await _fetch(parts, wanted, workdir)
        facts = await asyncio.to_thread(
            export_range, files, start.timestamp(), end.timestamp(), workdir / "export.mp4"
        )
    except EXPORT_ERRORS as err:
        shutil.rmtree(workdir, ignore_errors=True)
        if isinstance(err, av.FFmpegError | OSError):  # PyAV's errors may be ValueErrors too
            raise Problem(500, "Export failed", f"camera {camera_id!r}: {err}") from err
        raise missing from err  # export_range found no video in the range
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return FileResponse(
        facts.path,
        media_type="video/mp4",
        filename=f"{camera_id}-{start.astimezone(UTC):%Y%m%dT%H%M%SZ}.mp4",
        headers=_headers(facts),
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )


def _headers(facts: ExportFacts) -> dict[str, str]:
    headers = {
        "X-Export-Start": datetime.fromtimestamp(facts.start_wallclock, UTC).isoformat(),
        "X-Export-End": datetime.fromtimestamp(facts.end_wallclock, UTC).isoformat(),
        "X-Export-Frames": str(facts.frames),
    }
    if facts.stopped is not None:
        headers["X-Export-Stopped"] = facts.stopped
    return headers


async def _fetch(
    parts: RuntimeParts, wanted: Sequence[tuple[str, float]], workdir: FsPath
) -> list[SegmentFile]:
    """Each segment from the spool while it waits there, else from the object store."""
    files: list[SegmentFile] = []
    for index, (key, started) in enumerate(wanted):
        target = workdir / f"{index:05d}.mp4"
        if not await asyncio.to_thread(_copy_from_spool, parts.spool.root / key, target):
            try:
                body = await parts.store.get(key)
            except ObjectNotFound:
                continue  # deleted by retention meanwhile: the export skips it
            except StorageError as err:
                raise Problem(
                    503, "Object store unavailable", str(err), headers={"Retry-After": "10"}
                ) from err
            await asyncio.to_thread(target.write_bytes, body)
        files.append(SegmentFile(target, started))
    return files


def _copy_from_spool(source: FsPath, target: FsPath) -> bool:
    try:
        shutil.copyfile(source, target)
    except FileNotFoundError:  # not written there, or uploaded and removed a moment ago
        return False
    return True
