"""A purged camera's media: its rows are gone, so retention (which works from rows) never would
delete its objects; the purge removes every object under the camera's key prefixes instead."""

from __future__ import annotations

import logging

from storage.base import ObjectStore
from storage.errors import ObjectLocked, StorageError

log = logging.getLogger(__name__)

MEDIA_PREFIXES = ("clips", "snapshots", "thumbnails", "segments")  # hub.events.keys layout


async def purge_camera_media(store: ObjectStore, camera_id: str) -> tuple[int, int]:
    """Delete the camera's objects; returns (deleted, left). Left: locked, or the store failed
    (logged; a later purge of the same id is not possible, so the log names the prefixes)."""
    deleted = left = 0
    for kind in MEDIA_PREFIXES:
        prefix = f"{kind}/{camera_id}/"
        try:
            objects = await store.list(prefix)
        except StorageError as err:
            log.error("%s: purge could not list %s (%s); delete it by hand", camera_id, prefix, err)
            continue
        for info in objects:
            try:
                await store.delete(info.key)
                deleted += 1
            except ObjectLocked:
                left += 1
            except StorageError as err:
                log.error("%s: purge could not delete %s (%s)", camera_id, info.key, err)
                left += 1
    log.info("%s: purged %d object(s), %d left in the store", camera_id, deleted, left)
    return deleted, left
