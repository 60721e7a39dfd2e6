"""A crash between a clip's row and its queue entry: the next start queues the file again."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hub.config.retention import RetentionSettings
from hub.db import migrate
from hub.db.engine import create_engine, session_factory
from hub.db.models import MediaState
from tests.fixtures.hub import API, StartHub, add_camera, add_event, make_settings, wait_until


async def test_a_spooled_row_whose_file_was_never_queued_is_uploaded_after_restart(
    tmp_path: Path, database_url: str, start_hub: StartHub
) -> None:
    settings = make_settings(tmp_path, database_url=database_url)
    # The event is from 2024: keep retention's first sweep (at start) off its clip.
    settings = settings.model_copy(
        update={"retention": RetentionSettings(event_clip_days=3650, snapshot_days=3650)}
    )
    spool = settings.storage.spool_dir
    assert spool is not None
    data = b"\x00\x00\x00\x18ftypmp42" + b"clip" * 1000
    key = "clips/cam-1/2024/05/01/e1.mp4"
    (spool / key).parent.mkdir(parents=True)
    (spool / key).write_bytes(data)
    stray = spool / "clips/cam-1/2024/05/01/nobody.mp4"
    stray.write_bytes(b"no row names me")
    half = spool / "clips/cam-1/2024/05/01/e2.mp4.part"
    half.write_bytes(b"half-written")
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        await add_camera(sessions, "cam-1")
        sha = hashlib.sha256(data).hexdigest()
        event_id = await add_event(sessions, clip_state=MediaState.SPOOLED, clip_key=key, clip_sha256=sha)
    finally:
        await engine.dispose()

    hub = await start_hub(settings)

    async def stored() -> bool:
        event = (await hub.client.get(f"{API}/events/{event_id}")).json()
        return bool(event["clip"]["state"] == "stored")

    await wait_until(stored, timeout_s=10, what="the re-queued clip to be stored")
    assert await hub.parts.store.get(key) == data
    info = await hub.parts.store.stat(key)
    assert info.metadata["sha256"] == sha
    assert info.metadata["event"] == event_id
    assert not stray.exists() and not half.exists()  # unknown and unfinished files are removed
    assert await hub.parts.store.list("clips/") == [info]
