"""Liveness, readiness, Prometheus metrics and the hub's overall status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from hub import __version__
from hub.api.deps import PartsDep, RuntimeDep
from hub.api.schemas import NOT_READY_EXAMPLE, READY_EXAMPLE, Check, Readiness
from hub.db.engine import ping
from hub.retention.sweeper import retention_status
from storage.errors import StorageError

router = APIRouter(tags=["health"])

_HEALTHZ_EXAMPLE = {"status": "ok", "version": __version__}
_METRICS_EXAMPLE = """\
# HELP hub_spool_files Media files waiting for the object store
# TYPE hub_spool_files gauge
hub_spool_files 0.0
# HELP hub_spool_bytes Bytes waiting for the object store
# TYPE hub_spool_bytes gauge
hub_spool_bytes 0.0
# HELP hub_object_store_up 1 when the last upload succeeded
# TYPE hub_object_store_up gauge
hub_object_store_up 1.0
# HELP hub_tickets_pending Tickets not yet acknowledged
# TYPE hub_tickets_pending gauge
hub_tickets_pending 0.0
"""
_STATUS_EXAMPLE: dict[str, Any] = {
    "version": __version__,
    "cameras": {
        "licheng-gate-1": {
            "packets": 18240,
            "bytes": 95420118,
            "frames_analysed": 3040,
            "events": 2,
            "last_packet_at": 1714565048.9,
            "width": 1920,
            "height": 1080,
            "codec": "h264",
            "fps": 25.0,
            "bitrate_bps": 2048000,
            "seconds_since_packet": 0.1,
            "reason": "",
            "uptime_24h": 0.9987,
        }
    },
    "storage": {
        "backend": "s3",
        "available": False,
        "last_error": "object store unreachable: connect timeout",
        "spool_files": 3,
        "spool_bytes": 7340032,
        "spool_over_limit": False,
        "segments_dropped": 0,
        "uploaded": 128,
    },
    "retention": {
        "quota_bytes": 1_099_511_627_776,
        "stored_bytes": 1_102_000_000_000,
        "kept_bytes": 1_050_000_000_000,
        "kept_events": 212,
        "quota_exceeded": True,
        "alarm": "storage quota cannot be met: 1026.3 GiB stored, quota 1024.0 GiB; 977.9 GiB is held by "
        "212 kept event(s), the rest by media whose tickets are not delivered yet or that the store "
        "keeps locked; release kept events, check ticket delivery, or raise retention.quota_bytes",
        "checked_at": "2024-05-01T12:00:00+00:00",
        "last_sweep_interrupted": False,
        "locked_skipped": 0,
    },
    "tickets": {
        "configured": True,
        "pending": 1,
        "oldest_pending_age_s": 42.5,
        "last_error": "HTTP 503 from the grid system",
        "last_success_at": "2024-05-01T12:03:20.118Z",
    },
}


@router.get(
    "/healthz",
    summary="The process is alive",
    responses={
        200: {
            "description": "Alive, with the hub's version",
            "content": {"application/json": {"example": _HEALTHZ_EXAMPLE}},
        }
    },
)
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Database and object store reachable",
    responses={
        200: {
            "description": "Everything is reachable",
            "content": {"application/json": {"example": READY_EXAMPLE}},
        },
        503: {
            "model": Readiness,
            "description": "Something the hub needs is down",
            "content": {"application/json": {"example": NOT_READY_EXAMPLE}},
        },
    },
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


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {
                CONTENT_TYPE_PLAIN_0_0_4: {
                    "schema": {"type": "string", "description": "Prometheus text format"},
                    "example": _METRICS_EXAMPLE,
                }
            },
        }
    },
)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(
        generate_latest(runtime.registry), media_type=CONTENT_TYPE_PLAIN_0_0_4
    )  # what every scraper reads


@router.get(
    "/status",
    summary="Cameras, spool, ticket delivery and the storage quota at a glance",
    responses={
        200: {
            "description": "Live stream figures per camera, the media spool and the ticket outbox",
            "content": {"application/json": {"example": _STATUS_EXAMPLE}},
        }
    },
)
async def status(parts: PartsDep, runtime: RuntimeDep) -> dict[str, Any]:
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
            "segments_dropped": upload.evicted,
            "uploaded": upload.uploaded,
        },
        "tickets": await parts.deliverer.status(),
        "retention": retention_status(runtime.retention),
    }
