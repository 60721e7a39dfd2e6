"""Cameras, events and their clips through the API: listing, redaction, 409/307 and signed downloads."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from hub.config.camera import CameraConfig
from hub.db.models import EventState, MediaState
from tests.fixtures.hub import API, RunningHub, StartHub, add_camera, add_event, make_settings

PASSWORD = "s3cr3t-Pa55"
CLIP = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40  # opaque bytes: the API never parses them
CLIP_KEY = "clips/cam-1/2024-05-01/clip-1.mp4"


@pytest.fixture
async def hub_with_cameras(tmp_path: Path, start_hub: StartHub) -> RunningHub:
    """Two configured cameras, both disabled so no stream is opened; one has credentials."""
    cameras = [
        CameraConfig(
            id="front-door",
            name="Front door",
            url="rtsp://192.0.2.10:554/stream1",
            sub_url="rtsp://192.0.2.10:554/stream2",
            username="viewer",
            password=SecretStr(PASSWORD),
            enabled=False,
        ),
        CameraConfig(id="yard", url="rtsps://192.0.2.11/live", enabled=False),
    ]
    return await start_hub(make_settings(tmp_path, cameras=cameras, ingest=False))


async def test_cameras_lists_the_configured_cameras_without_credentials(hub_with_cameras: RunningHub) -> None:
    response = await hub_with_cameras.client.get(f"{API}/cameras")

    assert response.status_code == 200
    assert PASSWORD not in response.text
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 100, 0)
    assert [
        (c["id"], c["name"], c["enabled"], c["main_url"], c["sub_url"], c["status"], c["status_reason"])
        for c in body["items"]
    ] == [
        (
            "front-door",
            "Front door",
            False,
            "rtsp://192.0.2.10:554/stream1",
            "rtsp://192.0.2.10:554/stream2",
            "unknown",
            "disabled",
        ),
        ("yard", "yard", False, "rtsps://192.0.2.11/live", None, "unknown", "disabled"),
    ]


async def test_one_camera_and_the_status_filter(hub_with_cameras: RunningHub) -> None:
    one = await hub_with_cameras.client.get(f"{API}/cameras/front-door")
    online = await hub_with_cameras.client.get(f"{API}/cameras", params={"status": "online"})

    assert one.status_code == 200
    assert PASSWORD not in one.text
    assert one.json()["main_url"] == "rtsp://192.0.2.10:554/stream1"
    assert one.json()["reconnects"] == 0
    assert one.json()["live"] is None
    assert online.status_code == 200
    assert online.json() == {"items": [], "total": 0, "limit": 100, "offset": 0}


async def test_events_list_and_one_event(hub: RunningHub) -> None:
    sessions = hub.parts.sessions
    await add_camera(sessions, "cam-1")
    event_id = await add_event(sessions, clip_state=MediaState.NONE)
    await add_event(sessions, state=EventState.OPEN)

    listed = await hub.client.get(f"{API}/events", params={"state": "closed", "camera_id": "cam-1"})
    one = await hub.client.get(f"{API}/events/{event_id}")

    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert [e["id"] for e in listed.json()["items"]] == [event_id]
    assert one.status_code == 200
    body = one.json()
    assert (body["id"], body["camera_id"], body["kind"], body["state"]) == (
        event_id,
        "cam-1",
        "motion",
        "closed",
    )
    assert body["clip"]["state"] == "none"
    assert body["links"]["clip"] == f"{API}/events/{event_id}/clip"


async def test_a_spooled_clip_is_409_with_retry_after(hub: RunningHub) -> None:
    await add_camera(hub.parts.sessions)
    event_id = await add_event(hub.parts.sessions, clip_state=MediaState.SPOOLED, clip_key=CLIP_KEY)

    response = await hub.client.get(f"{API}/events/{event_id}/clip")

    assert response.status_code == 409
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Media not in storage yet",
        "status": 409,
        "detail": "the clip is spooled; ask again shortly",
        "instance": f"{API}/events/{event_id}/clip",
        "state": "spooled",
    }


async def test_an_event_without_a_clip_is_404(hub: RunningHub) -> None:
    await add_camera(hub.parts.sessions)
    event_id = await add_event(hub.parts.sessions, clip_state=MediaState.FAILED)

    response = await hub.client.get(f"{API}/events/{event_id}/clip")

    assert response.status_code == 404
    assert response.json()["title"] == "No such media"
    assert response.json()["detail"] == f"event {event_id} has no clip (failed)"


async def test_a_stored_clip_redirects_to_a_presigned_url_serving_its_bytes(hub: RunningHub) -> None:
    await hub.parts.store.put(CLIP_KEY, CLIP, content_type="video/mp4")
    await add_camera(hub.parts.sessions)
    digest = hashlib.sha256(CLIP).hexdigest()
    event_id = await add_event(
        hub.parts.sessions, clip_state=MediaState.STORED, clip_key=CLIP_KEY, clip_sha256=digest
    )

    redirect = await hub.client.get(f"{API}/events/{event_id}/clip")

    assert redirect.status_code == 307
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == hub.parts.settings.api.public_url
    assert location.path == f"{API}/objects/{CLIP_KEY}"
    assert set(parse_qs(location.query)) == {"expires", "signature"}
    download = await hub.client.get(f"{location.path}?{location.query}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    assert download.content == CLIP
    assert hashlib.sha256(download.content).hexdigest() == digest


async def test_a_tampered_signature_is_a_403_problem(hub: RunningHub) -> None:
    await hub.parts.store.put(CLIP_KEY, CLIP, content_type="video/mp4")
    url = urlsplit(await hub.parts.store.presigned_get_url(CLIP_KEY, _minutes(5)))
    query = parse_qs(url.query)
    signature = query["signature"][0]
    forged = ("0" if signature[0] != "0" else "1") + signature[1:]

    response = await hub.client.get(url.path, params={"expires": query["expires"][0], "signature": forged})
    other_key = await hub.client.get(
        f"{API}/objects/clips/cam-1/other.mp4",
        params={"expires": query["expires"][0], "signature": signature},
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "signature does not match",
        "instance": url.path,
    }
    assert other_key.status_code == 403


async def test_a_signed_url_for_a_missing_object_is_404(hub: RunningHub) -> None:
    url = urlsplit(await hub.parts.store.presigned_get_url("clips/cam-1/gone.mp4", _minutes(5)))

    response = await hub.client.get(f"{url.path}?{url.query}")

    assert response.status_code == 404
    assert response.json()["title"] == "No such object"


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
