"""Liveness, readiness, metrics, status and the OpenAPI document, through the ASGI app."""

from __future__ import annotations

import shutil

from prometheus_client.parser import text_string_to_metric_families

from hub import __version__
from tests.fixtures.hub import API, RunningHub


async def test_healthz_answers_ok_and_the_version(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


async def test_readyz_reports_both_checks_ok(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": {"database": {"ok": True, "detail": ""}, "object_store": {"ok": True, "detail": "local"}},
    }


async def test_readyz_is_503_naming_the_path_when_the_storage_root_is_gone(hub: RunningHub) -> None:
    root = hub.parts.settings.storage.local_path
    assert root is not None
    shutil.rmtree(root)

    response = await hub.client.get(f"{API}/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["database"] == {"ok": True, "detail": ""}
    assert body["checks"]["object_store"] == {
        "ok": False,
        "detail": f"local storage root {root} is missing (deleted or unmounted?)",
    }


async def test_metrics_are_prometheus_text_with_the_spool_gauges(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/metrics")

    assert response.status_code == 200
    media_type, *params = (part.strip() for part in response.headers["content-type"].split(";"))
    assert media_type == "text/plain"
    assert "version=0.0.4" in params
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples["hub_spool_files"] == 0
    assert samples["hub_spool_bytes"] == 0
    assert samples["hub_object_store_up"] == 1
    assert samples["hub_tickets_pending"] == 0


async def test_status_shows_storage_spool_and_tickets(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/status")

    assert response.status_code == 200
    assert response.json() == {
        "version": __version__,
        "cameras": {},
        "storage": {
            "backend": "local",
            "available": True,
            "last_error": "",
            "spool_files": 0,
            "spool_bytes": 0,
            "spool_over_limit": False,
            "segments_dropped": 0,
            "uploaded": 0,
        },
        "tickets": {
            "configured": False,
            "pending": 0,
            "oldest_pending_age_s": None,
            "last_error": "",
            "last_success_at": None,
        },
        "retention": response.json()["retention"]
        | {"quota_bytes": None, "quota_exceeded": False, "alarm": ""},
    }


async def test_openapi_lists_every_route(hub: RunningHub) -> None:
    response = await hub.client.get(f"{API}/openapi.json")

    assert response.status_code == 200
    document = response.json()
    listed = {(method, path) for path, item in document["paths"].items() for method in item}
    reads = {
        ("get", f"{API}/{path}")
        for path in (
            "healthz",
            "readyz",
            "metrics",
            "status",
            "cameras",
            "cameras/{camera_id}",
            "regions",
            "regions/{region_id}",
            "events",
            "events/{event_id}",
            "events/{event_id}/{media}",
            "tickets",
            "objects/{key}",
            "cameras/{camera_id}/snapshot.jpg",
            "cameras/{camera_id}/ptz/status",
            "cameras/{camera_id}/ptz/presets",
            "cameras/{camera_id}/segments",
            "cameras/{camera_id}/export.mp4",
        )
    }
    writes = {
        ("post", f"{API}/cameras"),
        ("post", f"{API}/cameras/import"),
        ("patch", f"{API}/cameras/{{camera_id}}"),
        ("delete", f"{API}/cameras/{{camera_id}}"),
        ("post", f"{API}/regions"),
        ("patch", f"{API}/regions/{{region_id}}"),
        ("delete", f"{API}/regions/{{region_id}}"),
        ("post", f"{API}/discovery"),
        ("post", f"{API}/cameras/{{camera_id}}/refresh"),
        *(
            ("post", f"{API}/cameras/{{camera_id}}/ptz/{action}")
            for action in ("continuous", "relative", "absolute", "stop", "presets", "presets/{token}/goto")
        ),
        ("delete", f"{API}/cameras/{{camera_id}}/ptz/presets/{{token}}"),
        ("put", f"{API}/events/{{event_id}}/keep"),
        ("delete", f"{API}/events/{{event_id}}/keep"),
    }
    assert listed == reads | writes
    assert document["info"]["version"] == __version__
