"""The continuous-recording index: keyword-only data access over the ``segments`` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Camera, MediaState, Segment
from hub.db.pages import fetch_page
from hub.recording.remux import ClipFacts


async def add_segment(
    sessions: async_sessionmaker[AsyncSession],
    *,
    camera_id: str,
    key: str,
    facts: ClipFacts,
    end_wallclock: float,
) -> bool:
    """Index a segment written to the spool; False when the camera was deleted meanwhile."""
    async with sessions.begin() as session:
        if await session.get(Camera, camera_id) is None:
            return False
        session.add(
            Segment(
                camera_id=camera_id,
                key=key,
                start_at=datetime.fromtimestamp(facts.start_wallclock, UTC),
                end_at=datetime.fromtimestamp(max(end_wallclock, facts.start_wallclock), UTC),
                duration_s=round(facts.duration_s, 3),
                frames=facts.frames,
                bytes=facts.bytes,
                codec=facts.codec,
                width=facts.width,
                height=facts.height,
                sha256=facts.sha256,
                state=MediaState.SPOOLED,
            )
        )
    return True


async def list_segments(
    session: AsyncSession,
    *,
    camera_id: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[Segment]]:
    """Segments overlapping ``[since, until)``, oldest first, with the total count."""
    query = select(Segment).where(Segment.camera_id == camera_id)
    if since is not None:
        query = query.where(Segment.end_at > since)
    if until is not None:
        query = query.where(Segment.start_at < until)
    rows, total = await fetch_page(session, query, order_by=Segment.start_at, limit=limit, offset=offset)
    return total, rows


async def covering(
    session: AsyncSession, *, camera_id: str, start: datetime, end: datetime
) -> Sequence[Segment]:
    """Readable segments (spooled or stored) overlapping ``[start, end)``, oldest first."""
    query = (
        select(Segment)
        .where(
            Segment.camera_id == camera_id,
            Segment.end_at > start,
            Segment.start_at < end,
            Segment.state.in_([MediaState.SPOOLED, MediaState.STORED]),
        )
        .order_by(Segment.start_at)
    )
    return (await session.scalars(query)).all()
