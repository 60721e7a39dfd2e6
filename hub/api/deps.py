"""Typed dependencies: handlers receive the runtime's parts, never reach for globals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from hub.runtime import HubRuntime, RuntimeParts


def get_runtime(request: Request) -> HubRuntime:
    runtime: HubRuntime = request.app.state.runtime
    return runtime


def get_parts(runtime: Annotated[HubRuntime, Depends(get_runtime)]) -> RuntimeParts:
    return runtime.parts


async def get_session(parts: Annotated[RuntimeParts, Depends(get_parts)]) -> AsyncIterator[AsyncSession]:
    async with parts.sessions() as session:
        yield session


RuntimeDep = Annotated[HubRuntime, Depends(get_runtime)]
PartsDep = Annotated[RuntimeParts, Depends(get_parts)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
