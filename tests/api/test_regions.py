"""Regions through the API on both databases: the tree, moves that carry the subtree, and refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.hub import API, RunningHub, StartHub, make_settings

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
async def hub(tmp_path: Path, start_hub: StartHub, database_url: str) -> RunningHub:
    return await start_hub(make_settings(tmp_path, database_url=database_url, ingest=False))


async def _tree(hub: RunningHub) -> None:
    """jinan / licheng / {huashan, tangye}, and a second root, qingdao."""
    for region in (
        {"id": "jinan", "name": "Jinan", "level": "city"},
        {"id": "licheng", "name": "Licheng", "parent_id": "jinan", "level": "county"},
        {"id": "huashan", "name": "Huashan", "parent_id": "licheng", "level": "township"},
        {"id": "tang_ye", "name": "Tangye", "parent_id": "licheng", "level": "township"},
        {"id": "qingdao", "name": "Qingdao", "level": "city"},
    ):
        response = await hub.client.post(f"{API}/regions", json=region)
        assert response.status_code == 201, response.text


async def _paths(hub: RunningHub, **params: Any) -> list[tuple[str, str]]:
    response = await hub.client.get(f"{API}/regions", params=params)
    assert response.status_code == 200
    return [(r["id"], r["path"]) for r in response.json()["items"]]


async def test_create_and_get_a_region(hub: RunningHub) -> None:
    await _tree(hub)
    response = await hub.client.get(f"{API}/regions/huashan")

    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("created_at", "updated_at")} == {
        "id": "huashan",
        "name": "Huashan",
        "parent_id": "licheng",
        "level": "township",
        "path": "/jinan/licheng/huashan/",
    }
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")


async def test_list_children_and_subtree_in_tree_order(hub: RunningHub) -> None:
    await _tree(hub)

    everything = await hub.client.get(f"{API}/regions", params={"limit": 2})
    assert (everything.json()["total"], len(everything.json()["items"])) == (5, 2)
    assert await _paths(hub, parent="licheng") == [
        ("huashan", "/jinan/licheng/huashan/"),
        ("tang_ye", "/jinan/licheng/tang_ye/"),
    ]
    assert await _paths(hub, subtree_of="licheng") == [
        ("licheng", "/jinan/licheng/"),
        ("huashan", "/jinan/licheng/huashan/"),
        ("tang_ye", "/jinan/licheng/tang_ye/"),
    ]


async def test_an_underscore_in_an_id_is_not_a_wildcard(hub: RunningHub) -> None:
    for region in ({"id": "a_b", "name": "A_B"}, {"id": "axb", "name": "AxB"}):
        assert (await hub.client.post(f"{API}/regions", json=region)).status_code == 201

    assert await _paths(hub, subtree_of="a_b") == [("a_b", "/a_b/")]


async def test_moving_a_region_moves_its_subtree(hub: RunningHub) -> None:
    await _tree(hub)

    response = await hub.client.patch(
        f"{API}/regions/licheng", json={"parent_id": "qingdao", "name": "Licheng (moved)"}
    )

    assert response.status_code == 200
    assert (response.json()["parent_id"], response.json()["path"], response.json()["name"]) == (
        "qingdao",
        "/qingdao/licheng/",
        "Licheng (moved)",
    )
    assert await _paths(hub) == [
        ("jinan", "/jinan/"),
        ("qingdao", "/qingdao/"),
        ("licheng", "/qingdao/licheng/"),
        ("huashan", "/qingdao/licheng/huashan/"),
        ("tang_ye", "/qingdao/licheng/tang_ye/"),
    ]
    to_top = await hub.client.patch(f"{API}/regions/licheng", json={"parent_id": None})
    assert (to_top.status_code, to_top.json()["path"]) == (200, "/licheng/")
    assert await _paths(hub, subtree_of="licheng") == [
        ("licheng", "/licheng/"),
        ("huashan", "/licheng/huashan/"),
        ("tang_ye", "/licheng/tang_ye/"),
    ]


@pytest.mark.parametrize(
    ("target", "detail"),
    [
        ("huashan", "cannot move region 'licheng' under 'huashan': that is one of its descendants"),
        ("licheng", "cannot move region 'licheng' under 'licheng': it is the region itself"),
    ],
)
async def test_moving_under_its_own_subtree_is_a_409(hub: RunningHub, target: str, detail: str) -> None:
    await _tree(hub)

    response = await hub.client.patch(f"{API}/regions/licheng", json={"parent_id": target})

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": detail,
        "instance": f"{API}/regions/licheng",
    }
    assert (await hub.client.get(f"{API}/regions/licheng")).json()["path"] == "/jinan/licheng/"


async def test_delete_refuses_a_region_with_children_or_cameras(hub: RunningHub) -> None:
    await _tree(hub)
    camera = {"id": "gate", "region_id": "huashan", "main_url": "rtsp://192.0.2.1/live"}
    assert (await hub.client.post(f"{API}/cameras", json=camera)).status_code == 201

    with_children = await hub.client.delete(f"{API}/regions/licheng")
    with_camera = await hub.client.delete(f"{API}/regions/huashan")
    empty = await hub.client.delete(f"{API}/regions/tang_ye")

    assert (with_children.status_code, with_children.json()["detail"]) == (
        409,
        "region 'licheng' still has 2 child region(s) and 0 camera(s): move or delete them first",
    )
    assert (with_camera.status_code, with_camera.json()["detail"]) == (
        409,
        "region 'huashan' still has 0 child region(s) and 1 camera(s): move or delete them first",
    )
    assert (empty.status_code, empty.content) == (204, b"")
    assert (await hub.client.get(f"{API}/regions/tang_ye")).status_code == 404


async def test_duplicate_ids_unknown_parents_and_bad_ids(hub: RunningHub) -> None:
    await _tree(hub)

    duplicate = await hub.client.post(f"{API}/regions", json={"id": "jinan", "name": "Again"})
    orphan = await hub.client.post(f"{API}/regions", json={"id": "x", "name": "X", "parent_id": "nowhere"})
    bad_id = await hub.client.post(f"{API}/regions", json={"id": "Not A Slug", "name": "X"})
    missing = await hub.client.get(f"{API}/regions/nowhere")

    assert (duplicate.status_code, duplicate.json()["detail"]) == (409, "region 'jinan' already exists")
    assert orphan.status_code == 422
    assert orphan.json()["errors"] == [{"location": "body.parent_id", "message": "no region 'nowhere'"}]
    assert bad_id.status_code == 422
    assert [e["location"] for e in bad_id.json()["errors"]] == ["body.id"]
    assert missing.json() == {
        "type": "about:blank",
        "title": "Region not found",
        "status": 404,
        "detail": "no region 'nowhere'",
        "instance": f"{API}/regions/nowhere",
    }
