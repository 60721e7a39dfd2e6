"""Liveness, readiness, Prometheus metrics and the hub's overall status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from hub import __version__
from hub.api.deps import PartsDep, RuntimeDep
from hub.api.schemas import Check, Readiness
from hub.db.engine import ping
from storage.errors import StorageError

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Database and object store reachable",
    responses={503: {"model": Readiness, "description": "Something the hub needs is down"}},
)
async def readyz(parts: PartsDep) -> JSONResponse:
    checks: dict[str, Check] = {}
    try:
        await ping(parts.engine)
        checks["database"] = Check(ok=True)
    except Exception as err:  # any failure here means "not ready", with the reason shown
        checks["database"] = Check(ok=False, detail=str(err))
    try:
        await parts.store.ping()
        checks["object_store"] = Check(ok=True, detail=parts.store.backend)
    except StorageError as err:
        checks["object_store"] = Check(ok=False, detail=str(err))
    ready = all(c.ok for c in checks.values())
    body = Readiness(ready=ready, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(
        generate_latest(runtime.registry), media_type=CONTENT_TYPE_PLAIN_0_0_4
    )  # what every scraper reads


@router.get("/status", summary="Cameras, spool and ticket delivery at a glance")
async def status(parts: PartsDep) -> dict[str, Any]:
    upload = parts.uploader.status
    return {
        "version": __version__,
        "cameras": parts.supervisor.live(),
        "storage": {
            "backend": parts.store.backend,
            "available": upload.store_available,
            "last_error": upload.last_error,
            "spool_files": upload.pending,
            "spool_bytes": upload.pending_bytes,
            "spool_over_limit": upload.spool_over_limit,
            "uploaded": upload.uploaded,
        },
        "tickets": await parts.deliverer.status(),
    }
