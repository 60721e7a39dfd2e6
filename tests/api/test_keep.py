"""Evidence keep through the API: PUT/DELETE /events/{id}/keep, the keep in the event, the kept
filter, the lock applied after upload by the runtime's hook, and the quota alarm in /status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hub.config.storage import ObjectLockMode, ObjectLockSettings, S3Settings, StorageBackend, StorageSettings
from hub.db.models import Event, EventState, MediaState
from storage.base import LockMode, ObjectLock, whole_second
from storage.errors import ObjectLocked
from tests.fixtures.hub import API, RunningHub, StartHub, add_camera, make_settings, wait_until
from tests.fixtures.seaweed import S3Endpoint

KEEP = {"by": "duty officer Li", "reason": "case 2024-0412"}


def locking(mode: ObjectLockMode = ObjectLockMode.GOVERNANCE, days: int = 30) -> StorageSettings:
    return StorageSettings(object_lock=ObjectLockSettings(enabled=True, mode=mode, days=days))


async def add_event(hub: RunningHub, *, snapshot: MediaState = MediaState.STORED, clip_bytes: int = 0) -> str:
    """A closed event of a minute ago whose clip is stored (and its snapshot unless spooled)."""
    event_id = str(uuid.uuid4())
    started = datetime.now(UTC) - timedelta(minutes=1)
    media = {
        "clip_key": f"clips/cam-1/x/{event_id}.mp4",
        "snapshot_key": f"snapshots/cam-1/x/{event_id}.jpg",
        "thumbnail_key": f"thumbnails/cam-1/x/{event_id}.jpg",
    }
    async with hub.parts.sessions.begin() as session:
        session.add(
            Event(
                id=event_id,
                camera_id="cam-1",
                kind="motion",
                severity="yellow",
                state=EventState.CLOSED,
                started_at=started,
                ended_at=started,
                clip_state=MediaState.STORED,
                clip_bytes=clip_bytes,
                snapshot_state=snapshot,
                **media,
            )
        )
    stored = list(media.values()) if snapshot is MediaState.STORED else [media["clip_key"]]
    for key in stored:
        await hub.parts.store.put(key, key.encode(), content_type="application/octet-stream")
    return event_id


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }


@pytest.fixture
async def worm_hub(tmp_path: Path, start_hub: StartHub) -> RunningHub:
    hub = await start_hub(make_settings(tmp_path, storage=locking(), ingest=False))
    await add_camera(hub.parts.sessions)
    return hub


async def test_keep_shows_in_the_event_and_locks_its_media(worm_hub: RunningHub) -> None:
    hub = worm_hub
    event_id = await add_event(hub)
    before = datetime.now(UTC)

    response = await hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)

    assert response.status_code == 200
    keep = response.json()["keep"]
    at = datetime.fromisoformat(keep["at"])
    assert before <= at <= datetime.now(UTC)
    assert keep == {
        **KEEP,
        "at": keep["at"],
        "until": whole_second(at + timedelta(days=30)).isoformat().replace("+00:00", "Z"),
        "lock": {"mode": "governance", "state": "locked", "error": ""},
    }
    one = await hub.client.get(f"{API}/events/{event_id}")
    assert one.json()["keep"] == keep
    clip = f"clips/cam-1/x/{event_id}.mp4"
    assert await hub.parts.store.lock_of(clip) == ObjectLock(
        LockMode.GOVERNANCE, whole_second(at + timedelta(days=30))
    )
    with pytest.raises(ObjectLocked):
        await hub.parts.store.delete(clip)


async def test_the_kept_filter(worm_hub: RunningHub) -> None:
    kept_id, other_id = await add_event(worm_hub), await add_event(worm_hub)
    await worm_hub.client.put(f"{API}/events/{kept_id}/keep", json=KEEP)

    kept = await worm_hub.client.get(f"{API}/events", params={"kept": "true"})
    not_kept = await worm_hub.client.get(f"{API}/events", params={"kept": "false"})

    assert [e["id"] for e in kept.json()["items"]] == [kept_id]
    assert [e["id"] for e in not_kept.json()["items"]] == [other_id]
    assert not_kept.json()["items"][0]["keep"] is None


async def test_keep_again_is_200_and_another_reason_is_409(worm_hub: RunningHub) -> None:
    event_id = await add_event(worm_hub)
    first = await worm_hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)

    again = await worm_hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)
    other = await worm_hub.client.put(
        f"{API}/events/{event_id}/keep", json={"by": "wang", "reason": "curious"}
    )

    assert (again.status_code, again.json()) == (200, first.json())
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    at = datetime.fromisoformat(first.json()["keep"]["at"])
    assert other.json() == problem(
        409,
        "Event already kept",
        f"event {event_id} is kept already, since {at:%Y-%m-%dT%H:%M:%SZ} by 'duty officer Li'; "
        "release it first to keep it for another reason",
        f"{API}/events/{event_id}/keep",
        keep=first.json()["keep"],
    )


@pytest.mark.parametrize(
    ("body", "location", "message"),
    [
        ({"by": "li"}, "body.reason", "Field required"),
        ({"by": "li", "reason": "   "}, "body.reason", "Value error, must not be blank"),
        ({**KEEP, "days": 5}, "body.days", "Extra inputs are not permitted"),
        ({"by": "x" * 129, "reason": "r"}, "body.by", "String should have at most 128 characters"),
    ],
)
async def test_an_invalid_keep_is_422(
    worm_hub: RunningHub, body: dict[str, Any], location: str, message: str
) -> None:
    event_id = await add_event(worm_hub)

    response = await worm_hub.client.put(f"{API}/events/{event_id}/keep", json=body)

    assert response.status_code == 422
    assert response.json()["errors"] == [{"location": location, "message": message}]
    assert (await worm_hub.client.get(f"{API}/events/{event_id}")).json()["keep"] is None


async def test_keep_and_release_of_an_unknown_event_are_404(worm_hub: RunningHub) -> None:
    for method in ("PUT", "DELETE"):
        response = await worm_hub.client.request(
            method, f"{API}/events/nope/keep", json=KEEP if method == "PUT" else None
        )
        assert response.status_code == 404
        assert response.json() == problem(
            404, "Event not found", "no event 'nope'", f"{API}/events/nope/keep"
        )


async def test_release_clears_the_keep_and_lifts_the_locks(worm_hub: RunningHub) -> None:
    event_id = await add_event(worm_hub)
    await worm_hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)

    released = await worm_hub.client.delete(f"{API}/events/{event_id}/keep")
    again = await worm_hub.client.delete(f"{API}/events/{event_id}/keep")

    assert released.status_code == 200
    assert released.json()["keep"] is None
    assert released.json()["details"]["released_keep"]["by"] == "duty officer Li"
    assert (again.status_code, again.json()) == (200, released.json())
    assert await worm_hub.parts.store.lock_of(f"clips/cam-1/x/{event_id}.mp4") == ObjectLock()
    await worm_hub.parts.store.delete(f"clips/cam-1/x/{event_id}.mp4")


async def test_a_compliance_keep_cannot_be_released_before_its_date(
    tmp_path: Path, start_hub: StartHub
) -> None:
    hub = await start_hub(
        make_settings(tmp_path, storage=locking(ObjectLockMode.COMPLIANCE, days=7), ingest=False)
    )
    await add_camera(hub.parts.sessions)
    event_id = await add_event(hub)
    until = (await hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)).json()["keep"]["until"]
    at = datetime.fromisoformat(until)

    response = await hub.client.delete(f"{API}/events/{event_id}/keep")

    assert response.status_code == 409
    assert response.json() == problem(
        409,
        "Keep cannot be released yet",
        f"event {event_id} is under a compliance lock until {at:%Y-%m-%dT%H:%M:%SZ}; "
        "nobody can release it before then",
        f"{API}/events/{event_id}/keep",
        locked_until=at.isoformat(),
    )
    assert (await hub.client.get(f"{API}/events/{event_id}")).json()["keep"]["lock"]["state"] == "locked"


async def test_a_release_the_store_cannot_do_now_is_503_and_finishes_on_retry(worm_hub: RunningHub) -> None:
    root = worm_hub.parts.settings.storage.local_path
    assert root is not None
    event_id = await add_event(worm_hub)
    await worm_hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)
    root.rename(root.with_name("unmounted"))

    refused = await worm_hub.client.delete(f"{API}/events/{event_id}/keep")

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "10"
    assert refused.json() == problem(
        503,
        "Object store unavailable",
        f"the locks could not be lifted: local storage root {root} is missing (deleted or unmounted?)",
        f"{API}/events/{event_id}/keep",
    )
    lock = (await worm_hub.client.get(f"{API}/events/{event_id}")).json()["keep"]["lock"]
    assert lock["state"] == "releasing"
    root.with_name("unmounted").rename(root)
    retried = await worm_hub.client.delete(f"{API}/events/{event_id}/keep")
    assert (retried.status_code, retried.json()["keep"]) == (200, None)


async def test_a_snapshot_still_in_the_spool_is_locked_by_the_upload_hook(worm_hub: RunningHub) -> None:
    hub = worm_hub
    event_id = await add_event(hub, snapshot=MediaState.SPOOLED)
    kept = await hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)
    assert kept.json()["keep"]["lock"]["state"] == "pending"

    for key in (f"snapshots/cam-1/x/{event_id}.jpg", f"thumbnails/cam-1/x/{event_id}.jpg"):
        hub.parts.spool.path_for(key).write_bytes(b"\xff\xd8jpeg\xff\xd9")
        hub.parts.spool.enqueue(key, content_type="image/jpeg", metadata={"event": event_id})
    hub.parts.uploader.wake()

    async def locked() -> bool:
        event = (await hub.client.get(f"{API}/events/{event_id}")).json()
        return bool(event["keep"]["lock"]["state"] == "locked")

    await wait_until(locked, timeout_s=10, what="the uploaded snapshot to be locked")
    until = datetime.fromisoformat(kept.json()["keep"]["until"])
    for key in (f"snapshots/cam-1/x/{event_id}.jpg", f"thumbnails/cam-1/x/{event_id}.jpg"):
        assert await hub.parts.store.lock_of(key) == ObjectLock(LockMode.GOVERNANCE, until)
    event = (await hub.client.get(f"{API}/events/{event_id}")).json()
    assert event["snapshot_state"] == "stored"


async def test_status_raises_the_quota_alarm_when_kept_media_fill_it(
    tmp_path: Path, start_hub: StartHub
) -> None:
    settings = make_settings(tmp_path, ingest=False)
    settings.retention.quota_bytes = 1024 * 1024
    hub = await start_hub(settings)
    await add_camera(hub.parts.sessions)
    event_id = await add_event(hub, clip_bytes=3 * 1024 * 1024)
    await hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)
    assert hub.runtime.retention is not None

    await hub.runtime.retention.sweep_once(datetime.now(UTC))
    retention = (await hub.client.get(f"{API}/status")).json()["retention"]

    assert retention["quota_exceeded"] is True
    assert (retention["quota_bytes"], retention["stored_bytes"], retention["kept_bytes"]) == (
        1024 * 1024,
        3 * 1024 * 1024,
        3 * 1024 * 1024,
    )
    assert retention["alarm"].startswith(
        "storage quota cannot be met: 3.0 MiB stored, quota 1.0 MiB; 3.0 MiB is held by 1 kept event(s)"
    )
    assert (await hub.client.get(f"{API}/events/{event_id}")).json()["clip"]["state"] == "stored"


@pytest.mark.s3
async def test_keep_on_s3_locks_the_objects_in_the_bucket(
    tmp_path: Path, start_hub: StartHub, s3_server: S3Endpoint
) -> None:
    s3 = S3Settings(
        endpoint=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=SecretStr(s3_server.secret_key),
        bucket=f"api-keep-{uuid.uuid4().hex[:16]}",
    )
    storage = StorageSettings(
        backend=StorageBackend.S3,
        s3=s3,
        object_lock=ObjectLockSettings(enabled=True, mode=ObjectLockMode.LEGAL_HOLD),
    )
    hub = await start_hub(make_settings(tmp_path, storage=storage, ingest=False))
    await add_camera(hub.parts.sessions)
    event_id = await add_event(hub)

    kept = await hub.client.put(f"{API}/events/{event_id}/keep", json=KEEP)

    assert kept.status_code == 200
    assert (kept.json()["keep"]["until"], kept.json()["keep"]["lock"]) == (
        None,
        {"mode": "legal_hold", "state": "locked", "error": ""},
    )
    clip = f"clips/cam-1/x/{event_id}.mp4"
    assert await hub.parts.store.lock_of(clip) == ObjectLock(legal_hold=True)
    released = await hub.client.delete(f"{API}/events/{event_id}/keep")
    assert released.status_code == 200
    assert await hub.parts.store.lock_of(clip) == ObjectLock()
    await hub.parts.store.delete(clip)
