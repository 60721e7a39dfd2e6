"""Events, and their media through short-lived presigned links issued after the lookup."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from hub.api.deps import PartsDep, SessionDep
from hub.api.problems import Problem
from hub.api.schemas import ClipOut, EventOut, Page
from hub.db.models import Event, EventState, MediaState
from hub.events.keys import media_links
from storage.errors import StorageError

router = APIRouter(prefix="/events", tags=["events"])

MediaKind = Literal["clip", "snapshot", "thumbnail"]
RETRY_AFTER_S = 5  # how soon a client should ask again for media still in the spool


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


@router.get("", response_model=Page[EventOut], summary="List events, newest first")
async def list_events(
    session: SessionDep,
    camera_id: Annotated[str | None, Query(description="Only this camera's events")] = None,
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
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await session.scalars(query.order_by(Event.started_at.desc()).limit(limit).offset(offset))).all()
    return Page(items=[event_out(e) for e in rows], total=total, limit=limit, offset=offset)


@router.get("/{event_id}", response_model=EventOut, summary="One event", responses={404: {}})
async def get_event(event_id: str, session: SessionDep) -> EventOut:
    return event_out(await _event(session, event_id))


@router.get(
    "/{event_id}/{media}",
    status_code=307,
    summary="Redirect to the event's clip, snapshot or thumbnail",
    responses={
        307: {"description": "Presigned URL of the object"},
        404: {"description": "No such event, or it has no such media"},
        409: {"description": "The media is still being recorded or waits in the spool; see Retry-After"},
    },
)
async def get_media(
    event_id: str, media: MediaKind, session: SessionDep, parts: PartsDep
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
