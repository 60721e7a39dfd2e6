"""Registry cameras through the API on both databases: create, read, change, delete, and what
never leaves the hub (passwords) or may not be changed here (cameras from the YAML config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from hub.config.camera import CameraConfig
from hub.db.models import Camera, Event
from hub.registry.credentials import load_credentials_cipher
from tests.fixtures.hub import API, RunningHub, StartHub, add_event, make_settings

PASSWORD = "Pa55-w0rd-never-shown"
CAMERA: dict[str, Any] = {
    "id": "licheng-gate-1",
    "name": "Licheng gate",
    "region_id": "licheng",
    "kind": "village",
    "tags": ["gate", " night-ir ", "gate"],
    "latitude": 36.6683,
    "longitude": 117.0204,
    "protocol": "onvif",
    "onvif_url": "http://192.0.2.21/onvif/device_service",
    "main_url": "rtsp://192.0.2.21:554/stream1",
    "username": "viewer",
    "password": PASSWORD,
    "ptz": True,
    "retention": {"event_clip_days": 30},
    "analysis": {"fps": 5, "motion": {"threshold": 30}},
    "privacy_masks": [[[0, 0], [0.5, 0], [0.5, 0.5]]],
}
STORED: dict[str, Any] = {
    "id": "licheng-gate-1",
    "name": "Licheng gate",
    "enabled": True,
    "main_url": "rtsp://192.0.2.21:554/stream1",
    "sub_url": None,
    "status": "unknown",
    "status_reason": "",
    "last_frame_at": None,
    "reconnects": 0,
    "live": None,
    "region_id": "licheng",
    "kind": "village",
    "tags": ["gate", "night-ir"],
    "latitude": 36.6683,
    "longitude": 117.0204,
    "protocol": "onvif",
    "onvif_url": "http://192.0.2.21/onvif/device_service",
    "snapshot_url": None,
    "username": "viewer",
    "has_password": True,
    "ptz": True,
    "retention": {"event_clip_days": 30, "snapshot_days": None, "continuous_days": None},
    "analysis": {
        "enabled": True,
        "fps": 5.0,
        "motion": {"threshold": 30, "min_area_fraction": None, "start_frames": None, "end_quiet_s": None},
    },
    "privacy_masks": [[[0.0, 0.0], [0.5, 0.0], [0.5, 0.5]]],
    "source": "api",
    "device_info": None,
    "online_since": None,
}
TIMES = ("status_changed_at", "created_at", "updated_at")


def _without_times(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in TIMES}


@pytest.fixture
async def hub(tmp_path: Path, start_hub: StartHub, database_url: str) -> RunningHub:
    """A hub with the region ``licheng`` and one camera from the YAML config, ``yaml-cam``."""
    config = CameraConfig(id="yaml-cam", url="rtsp://192.0.2.9/live", enabled=False)
    running = await start_hub(
        make_settings(tmp_path, database_url=database_url, cameras=[config], ingest=False)
    )
    for region in ({"id": "jinan", "name": "Jinan"}, {"id": "licheng", "name": "L", "parent_id": "jinan"}):
        assert (await running.client.post(f"{API}/regions", json=region)).status_code == 201
    return running


async def test_create_returns_the_camera_without_its_password(hub: RunningHub) -> None:
    created = await hub.client.post(f"{API}/cameras", json=CAMERA)
    again = await hub.client.get(f"{API}/cameras/licheng-gate-1")

    assert created.status_code == 201, created.text
    assert _without_times(created.json()) == STORED
    assert _without_times(again.json()) == STORED
    for response in (created, again):
        assert PASSWORD not in response.text
        assert "password_enc" not in response.text


async def test_the_password_is_stored_encrypted(hub: RunningHub) -> None:
    assert (await hub.client.post(f"{API}/cameras", json=CAMERA)).status_code == 201

    async with hub.parts.sessions() as session:
        token = await session.scalar(select(Camera.password_enc).where(Camera.id == "licheng-gate-1"))

    assert token is not None and PASSWORD not in token
    assert load_credentials_cipher(hub.parts.settings, create=False).decrypt(token) == PASSWORD


async def test_duplicate_ids_and_credentials_in_urls_are_refused(hub: RunningHub) -> None:
    assert (await hub.client.post(f"{API}/cameras", json=CAMERA)).status_code == 201

    duplicate = await hub.client.post(f"{API}/cameras", json=CAMERA)
    over_yaml = await hub.client.post(f"{API}/cameras", json={**CAMERA, "id": "yaml-cam"})
    userinfo = await hub.client.post(
        f"{API}/cameras", json={**CAMERA, "id": "x", "main_url": f"rtsp://admin:{PASSWORD}@192.0.2.3/live"}
    )

    assert (duplicate.status_code, duplicate.json()["detail"]) == (
        409,
        "camera 'licheng-gate-1' already exists",
    )
    assert over_yaml.json()["detail"] == "camera 'yaml-cam' already exists (from the YAML config)"
    assert userinfo.status_code == 422
    assert PASSWORD not in userinfo.text
    assert userinfo.json()["errors"] == [
        {
            "location": "body.main_url",
            "message": "URL must not hold credentials: put them in username and password",
        }
    ]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"latitude": 91, "longitude": 0}, [("body.latitude", "Input should be less than or equal to 90")]),
        (
            {"latitude": 36.1, "longitude": None},
            [("body.longitude", "latitude and longitude go together: give both or neither")],
        ),
        ({"protocol": "rtsp", "main_url": None}, [("body.main_url", "is required when protocol is rtsp")]),
        ({"region_id": "nowhere"}, [("body.region_id", "no region 'nowhere'")]),
        (
            {"privacy_masks": [[[0, 0], [1, 1]]]},
            [("body.privacy_masks.0", "a mask needs at least 3 points, got 2")],
        ),
        ({"onvif_url": "ftp://192.0.2.1/"}, [("body.onvif_url", "URL must start with http:// or https://")]),
        ({"tags": ["a;b"]}, [("body.tags.0", "tag 'a;b' must not hold ';', ',' or control characters")]),
        (
            {"kind": "police"},
            [("body.kind", "Input should be 'village', 'public-security', 'traffic' or 'other'")],
        ),
    ],
)
async def test_invalid_fields_are_422_with_the_field(
    hub: RunningHub, change: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    response = await hub.client.post(f"{API}/cameras", json={**CAMERA, **change})

    assert response.status_code == 422
    assert [(e["location"], e["message"]) for e in response.json()["errors"]] == errors


async def test_patch_changes_only_what_is_sent(hub: RunningHub) -> None:
    assert (await hub.client.post(f"{API}/cameras", json=CAMERA)).status_code == 201

    response = await hub.client.patch(
        f"{API}/cameras/licheng-gate-1",
        json={"tags": ["yard"], "sub_url": "rtsp://192.0.2.21/stream2", "retention": None, "enabled": False},
    )
    cleared = await hub.client.patch(
        f"{API}/cameras/licheng-gate-1", json={"password": None, "sub_url": None}
    )

    assert response.status_code == 200
    assert _without_times(response.json()) == {
        **STORED,
        "tags": ["yard"],
        "sub_url": "rtsp://192.0.2.21/stream2",
        "retention": None,
        "enabled": False,
    }
    assert (cleared.json()["has_password"], cleared.json()["sub_url"], cleared.json()["tags"]) == (
        False,
        None,
        ["yard"],
    )


async def test_patch_checks_the_merged_camera(hub: RunningHub) -> None:
    assert (await hub.client.post(f"{API}/cameras", json=CAMERA)).status_code == 201

    half_location = await hub.client.patch(f"{API}/cameras/licheng-gate-1", json={"latitude": None})
    null_name = await hub.client.patch(f"{API}/cameras/licheng-gate-1", json={"name": None})
    unknown = await hub.client.patch(f"{API}/cameras/nope", json={"name": "x"})

    assert half_location.status_code == 422
    assert half_location.json()["errors"] == [
        {"location": "body.latitude", "message": "latitude and longitude go together: give both or neither"}
    ]
    assert null_name.json()["errors"] == [{"location": "body.name", "message": "may not be null"}]
    assert (unknown.status_code, unknown.json()["title"]) == (404, "Camera not found")


async def test_config_cameras_are_read_only(hub: RunningHub) -> None:
    listed = await hub.client.get(f"{API}/cameras/yaml-cam")
    patched = await hub.client.patch(f"{API}/cameras/yaml-cam", json={"name": "Renamed"})
    deleted = await hub.client.delete(f"{API}/cameras/yaml-cam")

    assert (listed.status_code, listed.json()["source"]) == (200, "config")
    detail = (
        "camera 'yaml-cam' comes from the YAML config (cameras[] in the config file), "
        "which owns it: change or remove it there"
    )
    for response in (patched, deleted):
        assert response.status_code == 409
        assert response.json() == {
            "type": "https://sharp-eyes.example/problems/read-only",
            "title": "Camera is read-only",
            "status": 409,
            "detail": detail,
            "instance": f"{API}/cameras/yaml-cam",
        }
    assert (await hub.client.get(f"{API}/cameras/yaml-cam")).json()["name"] == "yaml-cam"


async def test_delete_refuses_a_camera_with_events_unless_purged(hub: RunningHub) -> None:
    assert (await hub.client.post(f"{API}/cameras", json=CAMERA)).status_code == 201
    await add_event(hub.parts.sessions, camera_id="licheng-gate-1")
    store = hub.parts.store
    mine = ["clips/licheng-gate-1/2024/05/01/a.mp4", "segments/licheng-gate-1/2024/05/01/120000-000.mp4"]
    other = "clips/licheng-gate-10/2024/05/01/b.mp4"  # a longer id with the same start stays
    for key in [*mine, other]:
        await store.put(key, b"media", content_type="video/mp4")

    refused = await hub.client.delete(f"{API}/cameras/licheng-gate-1")
    purged = await hub.client.delete(f"{API}/cameras/licheng-gate-1", params={"purge": "true"})

    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        "camera 'licheng-gate-1' has 1 event(s): pass purge=true to delete them, their tickets "
        "and the camera's stored media with it",
    )
    assert (purged.status_code, purged.content) == (204, b"")
    assert (await hub.client.get(f"{API}/cameras/licheng-gate-1")).status_code == 404
    async with hub.parts.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0
    assert [info.key for info in await store.list("")] == [other]


async def test_a_camera_with_kept_events_cannot_be_purged(hub: RunningHub) -> None:
    assert (await hub.client.post(f"{API}/cameras", json=CAMERA)).status_code == 201
    event_id = await add_event(hub.parts.sessions, camera_id="licheng-gate-1")
    keep = {"by": "duty officer 7", "reason": "evidence for case 2024-117"}
    assert (await hub.client.put(f"{API}/events/{event_id}/keep", json=keep)).status_code == 200

    refused = await hub.client.delete(f"{API}/cameras/licheng-gate-1", params={"purge": "true"})

    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        "camera 'licheng-gate-1' has 1 kept event(s) (evidence): release them "
        "(DELETE /events/{id}/keep) before deleting the camera",
    )
    assert (await hub.client.get(f"{API}/events/{event_id}")).status_code == 200


async def test_the_api_never_returns_a_password(tmp_path: Path, start_hub: StartHub) -> None:
    config = CameraConfig(
        id="yaml-cam", url="rtsp://192.0.2.9/live", username="u", password=SecretStr(PASSWORD), enabled=False
    )
    hub = await start_hub(make_settings(tmp_path, cameras=[config], ingest=False))
    texts = [(await hub.client.post(f"{API}/cameras", json={**CAMERA, "region_id": None})).text]
    texts.append((await hub.client.patch(f"{API}/cameras/licheng-gate-1", json={"password": PASSWORD})).text)
    for path in ("cameras", "cameras/licheng-gate-1", "cameras/yaml-cam", "status", "openapi.json"):
        texts.append((await hub.client.get(f"{API}/{path}")).text)

    assert all(PASSWORD not in text for text in texts)
    assert '"has_password":true' in texts[1]
