"""One page of a filtered query, with the total over all pages (what every list endpoint returns)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def fetch_page(
    session: AsyncSession, query: Select[T], *, order_by: Any, limit: int, offset: int
) -> tuple[Sequence[T], int]:
    """``query``'s rows ``offset..offset+limit`` in ``order_by`` order, and how many match in all."""
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await session.scalars(query.order_by(order_by).limit(limit).offset(offset))).all()
    return rows, total
