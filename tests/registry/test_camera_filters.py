"""``GET /cameras`` filters on both databases: region subtree, kind, tags (all), text, enabled,
status, and pagination totals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.db.models import CameraStatus
from tests.fixtures.hub import API, RunningHub, StartHub, make_settings

REGIONS = (
    {"id": "jinan", "name": "Jinan"},
    {"id": "licheng", "name": "Licheng", "parent_id": "jinan"},
    {"id": "huashan", "name": "Huashan", "parent_id": "licheng"},
    {"id": "qingdao", "name": "Qingdao"},
)
# (id, name, region, kind, tags, enabled)
CAMERAS: tuple[tuple[str, str, str | None, str, list[str], bool], ...] = (
    ("cam-01", "Huashan school gate", "huashan", "village", ["gate", "school"], True),
    ("cam-02", "Huashan market", "huashan", "public-security", ["market"], True),
    ("cam-03", "Licheng crossing", "licheng", "traffic", ["crossing", "gate"], False),
    ("cam-04", "Jinan station", "jinan", "public-security", ["station", "gate", "school"], True),
    ("cam-05", "Qingdao pier", "qingdao", "other", ["pier", "村口"], True),
    ("cam_06", "Unfiled 100%", None, "other", [], True),
)


@pytest.fixture
async def hub(tmp_path: Path, start_hub: StartHub, database_url: str) -> RunningHub:
    running = await start_hub(make_settings(tmp_path, database_url=database_url, ingest=False))
    for spec in REGIONS:
        assert (await running.client.post(f"{API}/regions", json=spec)).status_code == 201
    for camera_id, name, region, kind, tags, enabled in CAMERAS:
        body = {
            "id": camera_id,
            "name": name,
            "region_id": region,
            "kind": kind,
            "tags": tags,
            "enabled": enabled,
            "main_url": f"rtsp://192.0.2.1/{camera_id}",
        }
        assert (await running.client.post(f"{API}/cameras", json=body)).status_code == 201
    return running


async def _ids(hub: RunningHub, params: Any) -> tuple[list[str], int]:
    response = await hub.client.get(f"{API}/cameras", params=params)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]], response.json()["total"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["cam-01", "cam-02", "cam-03", "cam-04", "cam-05", "cam_06"]),
        ({"region": "licheng"}, ["cam-01", "cam-02", "cam-03"]),
        ({"region": "jinan"}, ["cam-01", "cam-02", "cam-03", "cam-04"]),
        ({"region": "huashan"}, ["cam-01", "cam-02"]),
        ({"region": "nowhere"}, []),
        ({"kind": "public-security"}, ["cam-02", "cam-04"]),
        ({"tag": "gate"}, ["cam-01", "cam-03", "cam-04"]),
        ([("tag", "gate"), ("tag", "school")], ["cam-01", "cam-04"]),
        ([("tag", "gate"), ("tag", "pier")], []),
        ({"tag": "村口"}, ["cam-05"]),
        ({"tag": "gat"}, []),
        ({"q": "HUASHAN"}, ["cam-01", "cam-02"]),
        ({"q": "_"}, ["cam_06"]),
        ({"q": "%"}, ["cam_06"]),
        ({"enabled": "false"}, ["cam-03"]),
        ({"region": "jinan", "tag": "gate", "enabled": "true"}, ["cam-01", "cam-04"]),
        ({"status": "online"}, ["cam-04"]),
    ],
)
async def test_filters(hub: RunningHub, params: Any, expected: list[str]) -> None:
    await hub.parts.cameras.set_status("cam-04", CameraStatus.ONLINE)

    assert await _ids(hub, params) == (expected, len(expected))


async def test_pages_carry_the_total_of_all_pages(hub: RunningHub) -> None:
    first = await hub.client.get(f"{API}/cameras", params={"region": "jinan", "limit": 3})
    last = await hub.client.get(f"{API}/cameras", params={"region": "jinan", "limit": 3, "offset": 3})

    assert ([c["id"] for c in first.json()["items"]], first.json()["total"]) == (
        ["cam-01", "cam-02", "cam-03"],
        4,
    )
    assert {k: v for k, v in last.json().items() if k != "items"} == {"total": 4, "limit": 3, "offset": 3}
    assert [c["id"] for c in last.json()["items"]] == ["cam-04"]


async def test_online_since_follows_the_status(hub: RunningHub) -> None:
    await hub.parts.cameras.set_status("cam-01", CameraStatus.ONLINE)
    online = (await hub.client.get(f"{API}/cameras/cam-01")).json()
    await hub.parts.cameras.set_status("cam-01", CameraStatus.OFFLINE, "timeout")
    offline = (await hub.client.get(f"{API}/cameras/cam-01")).json()

    assert online["online_since"] == online["status_changed_at"]
    assert (offline["status"], offline["online_since"]) == ("offline", None)
