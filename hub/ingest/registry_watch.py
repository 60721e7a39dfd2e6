"""Keeps the supervisor's running cameras in step with the registry (API-added cameras, edits,
deletions), polling the few columns that matter so a change is picked up within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.aio import cancel_and_wait
from hub.config.camera import CameraConfig
from hub.db.models import Camera, CameraSource
from hub.events.retry import RETRYABLE
from hub.ingest.supervisor import Supervisor
from hub.registry.credentials import CredentialCipher, CredentialKeyError

log = logging.getLogger(__name__)

_COLUMNS = (
    Camera.id,
    Camera.name,
    Camera.enabled,
    Camera.main_url,
    Camera.sub_url,
    Camera.username,
    Camera.password_enc,
    Camera.analysis,
    Camera.onvif_url,
    Camera.privacy_masks,
    Camera.source,
)


def camera_config(row: tuple[object, ...], cipher: CredentialCipher) -> CameraConfig | None:
    """What the pipeline needs from a registry row; None when it cannot be streamed yet."""
    camera_id, name, enabled, main_url, sub_url, username, password_enc, analysis, onvif_url, masks, _ = row
    if not main_url:
        return None  # an ONVIF camera whose stream URIs have not been read yet
    password = cipher.decrypt(str(password_enc)) if password_enc else None
    fps = (analysis or {}).get("fps") if isinstance(analysis, dict) else None
    return CameraConfig(
        id=str(camera_id),
        name=str(name),
        url=str(main_url),
        sub_url=str(sub_url) if sub_url else None,
        enabled=bool(enabled),
        username=str(username) if username else None,
        password=SecretStr(password) if password else None,
        analysis_fps=fps,
        onvif_url=str(onvif_url) if onvif_url else None,
        privacy_masks=[[(float(x), float(y)) for x, y in polygon] for polygon in masks or []],  # type: ignore[attr-defined]
    )


class RegistryWatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        supervisor: Supervisor,
        cipher: CredentialCipher,
        *,
        config_cameras: list[CameraConfig],
        poll_s: float = 2.0,
    ) -> None:
        self.sessions = sessions
        self.supervisor = supervisor
        self.cipher = cipher
        self.config_cameras = {c.id: c for c in config_cameras}  # the YAML owns these, passwords too
        self.poll_s = poll_s
        self._last: dict[str, CameraConfig] | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        await self.sync_once()
        self._task = asyncio.create_task(self._run(), name="registry-watch")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def changed(self) -> None:
        """The API wrote to the registry: look now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # poked by the API, or the poll interval is up
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            self._wake.clear()
            try:
                await self.sync_once()
            except RETRYABLE as err:
                log.warning("registry: could not read cameras (%s); keeping the running set", err)

    async def sync_once(self) -> None:
        async with self.sessions() as session:
            rows = (await session.execute(select(*_COLUMNS).order_by(Camera.id))).all()
        wanted: dict[str, CameraConfig] = {}
        for row in rows:
            camera_id, source = str(row[0]), row[-1]
            if source == CameraSource.CONFIG:
                config = self.config_cameras.get(camera_id)
                if config is not None:
                    wanted[camera_id] = config
                continue
            try:
                built = camera_config(tuple(row), self.cipher)
            except (ValidationError, CredentialKeyError) as err:
                log.error("%s: registry entry cannot be opened: %s", camera_id, err)
                continue
            if built is not None:
                wanted[camera_id] = built
        if wanted != self._last:
            self._last = wanted
            await self.supervisor.reconcile(list(wanted.values()))
