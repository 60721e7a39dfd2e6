"""Events, and their media through short-lived presigned links issued after the lookup."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.api.schemas import (
    CAMERA_ID_EXAMPLE,
    EVENT_ID_EXAMPLE,
    PRESIGNED_URL_EXAMPLE,
    ClipOut,
    EventOut,
    Page,
    problem_doc,
    problem_example,
)
from hub.db.models import Event, EventState, MediaState
from hub.db.pages import fetch_page
from hub.events.keys import media_links
from storage.errors import StorageError

router = APIRouter(prefix="/events", tags=["events"])

MediaKind = Literal["clip", "snapshot", "thumbnail"]
RETRY_AFTER_S = 5  # how soon a client should ask again for media still in the spool

EventId = Annotated[str, Path(description="The event's id", examples=[EVENT_ID_EXAMPLE])]
_EVENT_PATH = f"/api/v1/events/{EVENT_ID_EXAMPLE}"
_NOT_FOUND = problem_doc(
    "No such event",
    problem_example(404, "Event not found", f"no event {EVENT_ID_EXAMPLE!r}", _EVENT_PATH),
)
_INVALID = problem_doc(
    "A query parameter is invalid",
    problem_example(
        422,
        "Request is invalid",
        "1 problem(s) in the request",
        "/api/v1/events",
        type_=PROBLEM_TYPE_BASE + "validation",
        errors=[{"location": "query.limit", "message": "Input should be less than or equal to 500"}],
    ),
)
_MEDIA_RESPONSES: dict[int | str, dict[str, Any]] = {
    307: {
        "description": "Redirect to a short-lived presigned URL of the object (an MP4 clip or a JPEG)",
        "headers": {
            "Location": {
                "description": "Presigned URL; it expires after the storage's presign expiry",
                "schema": {"type": "string", "format": "uri"},
                "example": PRESIGNED_URL_EXAMPLE,
            }
        },
    },
    404: problem_doc(
        "No such event, or it has no such media",
        problem_example(
            404, "No such media", f"event {EVENT_ID_EXAMPLE} has no clip (none)", f"{_EVENT_PATH}/clip"
        ),
    ),
    409: problem_doc(
        "The media is still being recorded or waits in the spool; see Retry-After",
        problem_example(
            409,
            "Media not in storage yet",
            "the clip is spooled; ask again shortly",
            f"{_EVENT_PATH}/clip",
            state="spooled",
        ),
        **{"Retry-After": str(RETRY_AFTER_S)},
    ),
    503: problem_doc(
        "The object store cannot sign the URL now; see Retry-After",
        problem_example(
            503,
            "Object store unavailable",
            "object store unreachable: connect timeout",
            f"{_EVENT_PATH}/clip",
        ),
        **{"Retry-After": "10"},
    ),
}


def event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.id,
        camera_id=event.camera_id,
        kind=event.kind,
        severity=event.severity,
        state=event.state,
        started_at=event.started_at,
        ended_at=event.ended_at,
        score=event.score,
        clip=ClipOut(
            state=event.clip_state,
            key=event.clip_key,
            start_at=event.clip_start_at,
            duration_s=event.clip_duration_s,
            frames=event.clip_frames,
            bytes=event.clip_bytes,
            codec=event.clip_codec,
            sha256=event.clip_sha256,
        ),
        snapshot_state=event.snapshot_state,
        links=media_links(event.id),
        details=event.details,
    )


@router.get(
    "",
    response_model=Page[EventOut],
    summary="List events, newest first",
    responses={422: _INVALID},
)
async def list_events(
    session: SessionDep,
    camera_id: Annotated[
        str | None, Query(description="Only this camera's events", examples=[CAMERA_ID_EXAMPLE])
    ] = None,
    state: Annotated[EventState | None, Query()] = None,
    kind: Annotated[str | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Started at or after (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[EventOut]:
    query = select(Event)
    if camera_id is not None:
        query = query.where(Event.camera_id == camera_id)
    if state is not None:
        query = query.where(Event.state == state)
    if kind is not None:
        query = query.where(Event.kind == kind)
    if since is not None:
        if since.tzinfo is None:
            raise Problem(422, "Request is invalid", "since must carry a time zone (e.g. Z)")
        query = query.where(Event.started_at >= since)
    rows, total = await fetch_page(
        session, query, order_by=Event.started_at.desc(), limit=limit, offset=offset
    )
    return Page(items=[event_out(e) for e in rows], total=total, limit=limit, offset=offset)


@router.get("/{event_id}", response_model=EventOut, summary="One event", responses={404: _NOT_FOUND})
async def get_event(event_id: EventId, session: SessionDep) -> EventOut:
    return event_out(await _event(session, event_id))


@router.get(
    "/{event_id}/{media}",
    status_code=307,
    response_class=RedirectResponse,
    summary="Redirect to the event's clip, snapshot or thumbnail",
    responses=_MEDIA_RESPONSES,
)
async def get_media(
    event_id: EventId,
    media: Annotated[MediaKind, Path(description="Which media", examples=["clip"])],
    session: SessionDep,
    parts: PartsDep,
) -> RedirectResponse:
    event = await _event(session, event_id)
    if media == "clip":
        key, state = event.clip_key, event.clip_state
    else:
        key = event.snapshot_key if media == "snapshot" else event.thumbnail_key
        state = event.snapshot_state
    if state in (MediaState.RECORDING, MediaState.SPOOLED):
        raise Problem(
            409,
            "Media not in storage yet",
            f"the {media} is {state}; ask again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
            state=str(state),
        )
    if key is None or state is not MediaState.STORED:
        raise Problem(404, "No such media", f"event {event_id} has no {media} ({state})")
    expiry = timedelta(seconds=parts.settings.storage.presign_expiry_s)
    try:
        url = await parts.store.presigned_get_url(key, expiry)
    except StorageError as err:
        raise Problem(503, "Object store unavailable", str(err), headers={"Retry-After": "10"}) from err
    return RedirectResponse(url, status_code=307)


async def _event(session: SessionDep, event_id: str) -> Event:
    event = await session.get(Event, event_id)
    if event is None:
        raise Problem(404, "Event not found", f"no event {event_id!r}")
    return event
