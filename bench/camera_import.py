"""Camera bulk import: 5,000 CSV rows through ``POST /cameras/import`` (parsing, validation,
password encryption, reference checks, batched writes) against a bare SQLAlchemy bulk insert of
the same rows into the same kind of database (SQLite), in the same run."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import insert

from bench.result import BenchResult
from hub.api.app import create_app
from hub.config.hub import HubSettings
from hub.config.ingest import IngestSettings
from hub.db.engine import create_engine
from hub.db.migrate import upgrade
from hub.db.models import Camera, CameraSource
from hub.registry.importer import CSV_COLUMNS
from hub.runtime import HubRuntime


def _csv(rows: int) -> bytes:
    lines = [",".join(CSV_COLUMNS)]
    lines += [
        f"cam-{i:05d},Camera {i},,village,bulk;n{i % 7},36.{i},117.{i},rtsp,,"
        f"rtsp://192.0.2.1/{i},,,viewer,pw-{i},false,true"
        for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _plain_rows(rows: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "id": f"cam-{i:05d}",
            "name": f"Camera {i}",
            "kind": "village",
            "tags": ["bulk", f"n{i % 7}"],
            "latitude": float(f"36.{i}"),
            "longitude": float(f"117.{i}"),
            "protocol": "rtsp",
            "main_url": f"rtsp://192.0.2.1/{i}",
            "username": "viewer",
            "password_enc": f"pw-{i}",
            "ptz": False,
            "enabled": True,
            "source": CameraSource.API,
            "created_at": now,
            "updated_at": now,
            "status_changed_at": now,
        }
        for i in range(rows)
    ]


async def _bare(directory: Path, rows: int) -> float:
    url = f"sqlite:///{directory / 'bare.db'}"
    await upgrade(url)
    engine = create_engine(url)
    data = _plain_rows(rows)
    try:
        start = time.perf_counter()
        async with engine.begin() as connection:
            await connection.execute(insert(Camera), data)
        return time.perf_counter() - start
    finally:
        await engine.dispose()


async def _hub(directory: Path, rows: int) -> float:
    settings = HubSettings(
        data_dir=directory / "data",
        secret_key=SecretStr("bench-secret"),
        ingest=IngestSettings(enabled=False),  # measure the registry, not 5,000 camera connections
    )
    runtime = HubRuntime(settings)
    await runtime.start()
    body = _csv(rows)
    transport = httpx.ASGITransport(app=create_app(runtime, manage_runtime=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.bench") as client:
            # Warm-up: the first write opens the credentials key (``hub serve`` does it at start-up).
            warm = b"id,main_url,password\nwarm-up,rtsp://192.0.2.1/w,pw\n"
            await client.post("/api/v1/cameras/import", content=warm, headers={"content-type": "text/csv"})
            start = time.perf_counter()
            response = await client.post(
                "/api/v1/cameras/import", content=body, headers={"content-type": "text/csv"}
            )
            elapsed = time.perf_counter() - start
        if response.status_code != 200 or response.json()["created"] != rows:
            raise RuntimeError(f"import failed: {response.status_code} {response.text[:300]}")
        return elapsed
    finally:
        await runtime.stop()


async def _measure(rows: int, repeats: int) -> dict[str, float]:
    best = {"bare": float("inf"), "hub": float("inf")}
    for _ in range(repeats):
        for name, fn in (("bare", _bare), ("hub", _hub)):
            with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
                best[name] = min(best[name], await fn(Path(tmp), rows))
    return best


def run(*, quick: bool) -> BenchResult:
    logging.getLogger("hub").setLevel(logging.ERROR)  # no start-up chatter in the JSON output
    rows = 1000 if quick else 5000
    best = asyncio.run(_measure(rows, 2 if quick else 3))
    return BenchResult(
        name="camera_import",
        metric="cameras imported per second through POST /cameras/import (CSV, SQLite)",
        value=round(rows / best["hub"]),
        unit="rows/s",
        baseline=round(rows / best["bare"]),
        goal="ratio >= 0.3 (validation, encryption and checks cost at most ~3x a bare bulk insert)",
        details={"rows": rows, "hub_s": round(best["hub"], 3), "bare_s": round(best["bare"], 3)},
    )
