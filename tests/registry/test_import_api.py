"""``POST /cameras/import`` on both databases: exact reports, all-or-nothing and partial writes,
updates of API cameras, refusals of config cameras, unreadable files, and 5,000 rows at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.config.camera import CameraConfig
from hub.db.models import Camera
from hub.registry.credentials import load_credentials_cipher
from hub.registry.importer import CSV_COLUMNS
from tests.fixtures.hub import API, RunningHub, StartHub, make_settings

HEADER = ",".join(CSV_COLUMNS)
# Line numbers matter: the report names the line each bad row starts on.
CSV = (
    "\n".join(
        [
            HEADER,  # 1
            "cam-a,Gate A,licheng,village,gate;school,36.1,117.2,rtsp,,rtsp://192.0.2.1/a,,,viewer,pw-a,false,true",
            "cam-b,Gate B,licheng,village,,95,117.2,rtsp,,rtsp://192.0.2.1/b,,,,,,",  # 3: latitude
            "cam-c,,,traffic,,,,onvif,http://192.0.2.3/onvif/device_service,,,,,,true,",  # 4
            "",  # 5: blank lines are skipped but counted
            "cam-a,Gate A again,,,,,,,,rtsp://192.0.2.1/a2,,,,,,",  # 6: duplicate id
            'cam-d,"Two-line',  # 7: a quoted name across two lines
            'name",,,,,,,,rtsp://192.0.2.1/d,,,,,,',  # 8
            "cam-e,Gate E,nowhere,other,,,,,,rtsp://192.0.2.1/e,,,,,maybe,",  # 9: region and ptz
        ]
    )
    + "\n"
)
REJECTED = [
    {
        "row": 3,
        "id": "cam-b",
        "errors": [{"field": "latitude", "message": "Input should be less than or equal to 90"}],
    },
    {
        "row": 6,
        "id": "cam-a",
        "errors": [{"field": "id", "message": "id 'cam-a' is used twice (rows 2 and 6)"}],
    },
    {
        "row": 9,
        "id": "cam-e",
        "errors": [{"field": "ptz", "message": "Input should be a valid boolean, unable to interpret input"}],
    },
]


@pytest.fixture
async def hub(tmp_path: Path, start_hub: StartHub, database_url: str) -> RunningHub:
    config = CameraConfig(id="yaml-cam", url="rtsp://192.0.2.9/live", enabled=False)
    running = await start_hub(
        make_settings(tmp_path, database_url=database_url, cameras=[config], ingest=False)
    )
    assert (
        await running.client.post(f"{API}/regions", json={"id": "licheng", "name": "L"})
    ).status_code == 201
    return running


async def _import(hub: RunningHub, body: str | bytes, *, mode: str | None = None, csv: bool = True) -> Any:
    params = {"mode": mode} if mode else {}
    headers = {"content-type": "text/csv; charset=utf-8" if csv else "application/json"}
    content = body.encode() if isinstance(body, str) else body
    return await hub.client.post(f"{API}/cameras/import", content=content, params=params, headers=headers)


async def _camera_ids(hub: RunningHub) -> list[str]:
    async with hub.parts.sessions() as session:
        return list((await session.scalars(select(Camera.id).order_by(Camera.id))).all())


async def test_all_or_nothing_writes_nothing_and_reports_every_bad_row(hub: RunningHub) -> None:
    response = await _import(hub, CSV)

    assert response.status_code == 422
    assert response.json() == {
        "mode": "all_or_nothing",
        "rows": 6,
        "accepted": 3,
        "created": 0,
        "updated": 0,
        "rejected": REJECTED,
    }
    assert await _camera_ids(hub) == ["yaml-cam"]


async def test_partial_writes_the_good_rows(hub: RunningHub) -> None:
    response = await _import(hub, CSV, mode="partial")

    assert response.status_code == 200
    assert response.json() == {
        "mode": "partial",
        "rows": 6,
        "accepted": 3,
        "created": 3,
        "updated": 0,
        "rejected": REJECTED,
    }
    assert await _camera_ids(hub) == ["cam-a", "cam-c", "cam-d", "yaml-cam"]
    cam_a = (await hub.client.get(f"{API}/cameras/cam-a")).json()
    cam_d = (await hub.client.get(f"{API}/cameras/cam-d")).json()
    assert (cam_a["tags"], cam_a["region_id"], cam_a["has_password"], cam_a["source"]) == (
        ["gate", "school"],
        "licheng",
        True,
        "api",
    )
    assert (cam_d["name"], cam_d["kind"], cam_d["protocol"]) == ("Two-line\nname", "other", "rtsp")
    async with hub.parts.sessions() as session:
        token = await session.scalar(select(Camera.password_enc).where(Camera.id == "cam-a"))
    assert token is not None and "pw-a" not in token
    assert load_credentials_cipher(hub.parts.settings, create=False).decrypt(token) == "pw-a"


async def test_unknown_regions_and_config_cameras_are_row_errors(hub: RunningHub) -> None:
    body = "\n".join(
        [
            "id,region,main_url",
            "cam-x,nowhere,rtsp://192.0.2.1/x",
            "yaml-cam,,rtsp://192.0.2.1/y",
            "cam-y,licheng,rtsp://u:p@192.0.2.1/z",
        ]
    )
    response = await _import(hub, body)

    assert response.json()["rejected"] == [
        {"row": 2, "id": "cam-x", "errors": [{"field": "region", "message": "no region 'nowhere'"}]},
        {
            "row": 3,
            "id": "yaml-cam",
            "errors": [
                {"field": "id", "message": "camera 'yaml-cam' comes from the YAML config: it is read-only"}
            ],
        },
        {
            "row": 4,
            "id": "cam-y",
            "errors": [
                {
                    "field": "main_url",
                    "message": "URL must not hold credentials: put them in username and password",
                }
            ],
        },
    ]


async def test_a_second_import_updates_api_cameras_with_the_cells_it_gives(hub: RunningHub) -> None:
    first = "id,name,main_url,username,password\ncam-a,Gate A,rtsp://192.0.2.1/a,viewer,pw-a\n"
    again = "id,name,main_url,username,password\ncam-a,Gate A renamed,rtsp://192.0.2.1/a,,\ncam-b,,rtsp://192.0.2.1/b,,\n"
    assert (await _import(hub, first)).json()["created"] == 1

    response = await _import(hub, again)

    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("rows", "accepted", "created", "updated")} == {
        "rows": 2,
        "accepted": 2,
        "created": 1,
        "updated": 1,
    }
    cam_a = (await hub.client.get(f"{API}/cameras/cam-a")).json()
    assert (cam_a["name"], cam_a["username"], cam_a["has_password"]) == ("Gate A renamed", "viewer", True)


async def test_json_rows_are_reported_by_index(hub: RunningHub) -> None:
    rows = [
        {"id": "cam-j", "main_url": "rtsp://192.0.2.1/j", "privacy_masks": [[[0, 0], [1, 0], [1, 1]]]},
        {"id": "cam-k", "main_url": "rtsp://192.0.2.1/k", "privacy_masks": [[[0, 0], [2, 0], [1, 1]]]},
        "not an object",
    ]

    response = await _import(hub, json.dumps(rows), mode="partial", csv=False)

    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {
            "row": 1,
            "id": "cam-k",
            "errors": [
                {
                    "field": "privacy_masks.0",
                    "message": "point 1 [2.0, 0.0] must lie in 0..1 "
                    "(coordinates are fractions of the picture)",
                }
            ],
        },
        {
            "row": 2,
            "id": None,
            "errors": [
                {"field": "row", "message": "Input should be a valid dictionary or instance of CameraSpec"}
            ],
        },
    ]
    assert await _camera_ids(hub) == ["cam-j", "yaml-cam"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "the CSV is empty: expected a header line with " + HEADER),
        (b"\n\n", "the CSV is empty: expected a header line with " + HEADER),
        (
            b"id,name,colour\ncam,x,red\n",
            "unknown column(s) 'colour' in the CSV header; the columns are " + HEADER,
        ),
        (b"name,main_url\nx,rtsp://h/x\n", "the CSV header has no id column"),
        (b"id,id\n", "column(s) 'id' appear more than once in the header"),
        (b"id,name\ncam,\xff\xfe\n", "the CSV is not UTF-8 (line 2, byte 12): save it as UTF-8"),
        (b"id,name\n", "the file holds no camera rows"),
    ],
)
async def test_unreadable_csv_is_a_422_problem(hub: RunningHub, body: bytes, detail: str) -> None:
    response = await _import(hub, body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://sharp-eyes.example/problems/import",
        "title": "Import file is invalid",
        "status": 422,
        "detail": detail,
        "instance": f"{API}/cameras/import",
    }


async def test_other_media_types_are_415(hub: RunningHub) -> None:
    response = await hub.client.post(
        f"{API}/cameras/import", content=b"x", headers={"content-type": "text/plain"}
    )

    assert (response.status_code, response.json()["detail"]) == (415, "send text/csv or application/json")


async def test_five_thousand_rows_in_one_request(hub: RunningHub) -> None:
    lines = [HEADER] + [
        f"cam-{i:05d},Camera {i},licheng,village,bulk;n{i % 7},36.{i},117.{i},rtsp,,"
        f"rtsp://192.0.2.1/{i},,,viewer,pw-{i},false,true"
        for i in range(5000)
    ]

    response = await _import(hub, "\n".join(lines))

    assert response.status_code == 200, response.text[:500]
    assert {k: response.json()[k] for k in ("rows", "accepted", "created", "updated", "rejected")} == {
        "rows": 5000,
        "accepted": 5000,
        "created": 5000,
        "updated": 0,
        "rejected": [],
    }
    async with hub.parts.sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Camera).where(Camera.password_enc.is_not(None))
        )
    assert stored == 5000
    tagged = await hub.client.get(f"{API}/cameras", params={"tag": "n3", "region": "licheng", "limit": 1})
    assert tagged.json()["total"] == len([i for i in range(5000) if i % 7 == 3])
