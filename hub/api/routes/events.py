"""Events, their media through short-lived presigned links issued after the lookup, and the
operator's evidence keep (``PUT``/``DELETE /events/{id}/keep``, ``hub.events.keep``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import PROBLEM_TYPE_BASE, Problem
from hub.api.schemas import (
    CAMERA_ID_EXAMPLE,
    EVENT_EXAMPLE,
    EVENT_ID_EXAMPLE,
    PRESIGNED_URL_EXAMPLE,
    ClipOut,
    EventOut,
    Page,
    problem_doc,
    problem_example,
)
from hub.api.schemas_keep import KEEP_EXAMPLE, KEEP_IN_EXAMPLE, KeepIn, KeepOut, LockOut
from hub.db.models import Event, EventState, MediaState
from hub.db.pages import fetch_page
from hub.events import keep
from hub.events.keys import media_links
from storage.errors import StorageError, StorageUnavailable

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
        keep=keep_out(event),
    )


def keep_out(event: Event) -> KeepOut | None:
    if event.keep_at is None:
        return None
    return KeepOut(
        by=event.keep_by or "",
        reason=event.keep_reason or "",
        at=event.keep_at,
        until=event.keep_until,
        lock=LockOut(mode=event.keep_lock_mode, state=event.keep_lock_state, error=event.keep_lock_error),
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
    kept: Annotated[
        bool | None, Query(description="Only kept (true) or only not kept (false) events")
    ] = None,
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
    if kept is not None:
        query = query.where(Event.keep_at.is_not(None) if kept else Event.keep_at.is_(None))
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


@router.put(
    "/{event_id}/keep",
    response_model=EventOut,
    summary="Keep the event as evidence: retention and the quota never delete its media",
    responses={
        200: {
            "description": "Kept (again, for the same operator and reason); with object lock on, its "
            "stored media are locked, media still in the spool right after upload",
            "content": {"application/json": {"example": {**EVENT_EXAMPLE, "keep": KEEP_EXAMPLE}}},
        },
        404: _NOT_FOUND,
        409: problem_doc(
            "Kept already by someone else or for another reason, or being released",
            problem_example(
                409,
                "Event already kept",
                f"event {EVENT_ID_EXAMPLE} is kept already, since 2024-05-01T12:30:00Z by 'duty officer "
                "Li Wei'; release it first to keep it for another reason",
                f"{_EVENT_PATH}/keep",
                keep=KEEP_EXAMPLE,
            ),
        ),
        422: _INVALID,
    },
)
async def put_keep(
    event_id: EventId,
    body: Annotated[KeepIn, Body(examples=[KEEP_IN_EXAMPLE])],
    parts: PartsDep,
) -> EventOut:
    try:
        event = await keep.mark_keep(
            sessions=parts.sessions,
            store=parts.store,
            settings=parts.settings.storage.object_lock,
            event_id=event_id,
            by=body.by,
            reason=body.reason,
            now=datetime.now(UTC),
        )
    except keep.EventNotFound as err:
        raise Problem(404, "Event not found", str(err)) from err
    except keep.AlreadyKept as err:
        held = keep_out(err.event)
        raise Problem(
            409, "Event already kept", str(err), keep=held.model_dump(mode="json") if held else None
        ) from err
    return event_out(event)


@router.delete(
    "/{event_id}/keep",
    response_model=EventOut,
    summary="Release the keep (and lift the object locks where the lock mode allows it)",
    responses={
        200: {
            "description": "Released, or was not kept; retention applies to its media again",
            "content": {"application/json": {"example": EVENT_EXAMPLE}},
        },
        404: _NOT_FOUND,
        409: problem_doc(
            "A compliance lock cannot be released before its date",
            problem_example(
                409,
                "Keep cannot be released yet",
                f"event {EVENT_ID_EXAMPLE} is under a compliance lock until 2025-05-01T12:30:00Z; "
                "nobody can release it before then",
                f"{_EVENT_PATH}/keep",
                locked_until="2025-05-01T12:30:00Z",
            ),
        ),
        503: problem_doc(
            "The object store cannot lift the locks now; the event stays kept (lock state "
            "releasing) and the release finishes by itself once the store is back",
            problem_example(
                503,
                "Object store unavailable",
                "the locks could not be lifted: object store unreachable: connect timeout",
                f"{_EVENT_PATH}/keep",
            ),
            **{"Retry-After": "10"},
        ),
    },
)
async def delete_keep(event_id: EventId, parts: PartsDep) -> EventOut:
    try:
        event = await keep.release_keep(
            sessions=parts.sessions, store=parts.store, event_id=event_id, now=datetime.now(UTC)
        )
    except keep.EventNotFound as err:
        raise Problem(404, "Event not found", str(err)) from err
    except keep.NotReleasable as err:
        raise Problem(
            409, "Keep cannot be released yet", str(err), locked_until=err.until.isoformat()
        ) from err
    except StorageError as err:
        title = "Object store unavailable" if isinstance(err, StorageUnavailable) else "Object store refused"
        raise Problem(
            503, title, f"the locks could not be lifted: {err}", headers={"Retry-After": "10"}
        ) from err
    return event_out(event)


async def _event(session: SessionDep, event_id: str) -> Event:
    event = await session.get(Event, event_id)
    if event is None:
        raise Problem(404, "Event not found", f"no event {event_id!r}")
    return event
