"""Re-queue media the database says is spooled but whose queue entry was never written.

The host records a clip's row (``spooled``, its ticket with it) and then queues the file; a crash
between the two leaves a complete file with no queue entry, which the spool would delete at the
next start as an unfinished write, stranding the row and the ticket's link. At start-up, before
the spool cleans up, every such file that a ``spooled`` row names is queued again, with the
metadata rebuilt from that row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Event, MediaState, Segment
from hub.media.spool import MediaSpool

log = logging.getLogger(__name__)


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.isoformat()


async def spooled_media(
    sessions: async_sessionmaker[AsyncSession], keys: Sequence[str]
) -> dict[str, tuple[str, dict[str, str]]]:
    """For those of ``keys`` that a ``spooled`` row names: key -> (content type, metadata)."""
    wanted = set(keys)
    found: dict[str, tuple[str, dict[str, str]]] = {}
    if not wanted:
        return found
    async with sessions() as session:
        events = await session.scalars(
            select(Event).where(
                or_(
                    Event.clip_key.in_(wanted),
                    Event.snapshot_key.in_(wanted),
                    Event.thumbnail_key.in_(wanted),
                )
            )
        )
        for event in events:
            if event.clip_key in wanted and event.clip_state == MediaState.SPOOLED:
                found[event.clip_key] = (
                    "video/mp4",
                    {
                        "camera": event.camera_id,
                        "event": event.id,
                        "start": _iso(event.clip_start_at),
                        "end": _iso(event.ended_at),
                        "sha256": event.clip_sha256 or "",
                    },
                )
            if event.snapshot_state == MediaState.SPOOLED:
                for key in (event.snapshot_key, event.thumbnail_key):
                    if key in wanted and key is not None:
                        found[key] = ("image/jpeg", {"camera": event.camera_id, "event": event.id})
        segments = await session.scalars(
            select(Segment).where(Segment.key.in_(wanted), Segment.state == MediaState.SPOOLED)
        )
        for segment in segments:
            found[segment.key] = (
                "video/mp4",
                {
                    "camera": segment.camera_id,
                    "start": _iso(segment.start_at),
                    "end": _iso(segment.end_at),
                    "sha256": segment.sha256,
                },
            )
    return found


async def requeue_spooled(sessions: async_sessionmaker[AsyncSession], spool: MediaSpool) -> int:
    """Queue again the complete, unqueued spool files that rows call spooled; returns how many."""
    keys = spool.unqueued_keys()
    known = await spooled_media(sessions, keys)
    for key in keys:  # oldest first by path is good enough: they all wait for the same store
        if key in known:
            content_type, metadata = known[key]
            spool.enqueue(key, content_type=content_type, metadata=metadata)
    if known:
        log.warning("spool: re-queued %d file(s) recorded but not queued before an unclean stop", len(known))
    return len(known)
