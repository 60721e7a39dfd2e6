"""Camera rows and their health in the database: synced from config, updated by the supervisor."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.rtsp.errors import redact_url
from hub.config.camera import CameraConfig
from hub.db.models import Camera, CameraProtocol, CameraSource, CameraStatus

log = logging.getLogger(__name__)


class CameraStatusStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def sync_from_config(self, cameras: Sequence[CameraConfig]) -> None:
        """Upsert the configured cameras as ``source="config"`` rows (the YAML owns them; a
        registry camera with the same id is taken over). The stored URL never carries
        credentials, and the config's password is not copied: it stays in the config."""
        async with self.sessions.begin() as session:
            for cam in cameras:
                row = await session.get(Camera, cam.id)
                if row is None:
                    row = Camera(id=cam.id, name=cam.name, main_url="", source=CameraSource.CONFIG)
                    session.add(row)
                elif row.source != CameraSource.CONFIG:
                    log.warning("%s: the config defines this registry camera: the config owns it now", cam.id)
                    row.source, row.password_enc = CameraSource.CONFIG, None
                row.name = cam.name
                row.protocol = CameraProtocol.RTSP
                row.username = cam.username
                row.enabled = cam.enabled
                row.main_url = redact_url(cam.url)
                row.sub_url = redact_url(cam.sub_url) if cam.sub_url else None
                if not cam.enabled:
                    row.status, row.status_reason = CameraStatus.UNKNOWN, "disabled"

    async def set_status(
        self, camera_id: str, status: CameraStatus, reason: str = "", *, reconnected: bool = False
    ) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(Camera, camera_id)
            if row is None:
                return
            if row.status != status or row.status_reason != reason:
                log.info("%s: status %s -> %s %s", camera_id, row.status, status, reason)
                now = datetime.now(UTC)
                if status != row.status:
                    row.online_since = now if status == CameraStatus.ONLINE else None
                row.status, row.status_reason = status, reason
                row.status_changed_at = now
            if reconnected:
                row.reconnects += 1

    async def note_frame_time(self, camera_id: str, wallclock: float) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(Camera, camera_id)
            if row is not None:
                row.last_frame_at = datetime.fromtimestamp(wallclock, UTC)

    async def all(self) -> list[Camera]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Camera).order_by(Camera.id))).all())
