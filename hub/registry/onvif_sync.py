"""Read a camera over ONVIF and fill its registry row: stream and snapshot URIs, PTZ, device info.

An ONVIF camera can be registered with only its device service URL and credentials; the hub
then reads it (:func:`fill_after_create`) and on request again (:func:`refresh_camera`). A camera
that cannot be read stays registered, with the status and reason of the error
(``adapters.onvif.errors.status_for``) so the admin can fix its credentials and refresh it.
Reasons this module writes start with :data:`REASON_PREFIX`; a later successful read clears them.
URIs are stored without credentials (the adapter strips them).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.onvif.client import OnvifCameraClient
from adapters.onvif.errors import OnvifError, OnvifTimeout, status_for
from adapters.onvif.models import DeviceSnapshot
from hub.config.camera import CameraConfig
from hub.db.models import Camera, CameraProtocol, CameraSource, CameraStatus
from hub.registry.credentials import CredentialCipher
from hub.registry.errors import Conflict

log = logging.getLogger(__name__)

CALL_TIMEOUT_S = 5.0  # one SOAP request
READ_TIMEOUT_S = 20.0  # the whole read: connect, profiles, URIs, PTZ
REASON_PREFIX = "ONVIF: "


@dataclass(frozen=True, slots=True)
class DeviceAccess:
    """Where a camera's ONVIF device service is and how to log in (the password in memory only)."""

    camera_id: str
    host: str
    port: int
    username: str
    password: str


def endpoint_of(url: str) -> tuple[str, int] | None:
    """``(host, port)`` of an http(s) URL (default ports filled in), or None when it has no host."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number
        return None
    if not parts.hostname or parts.scheme.lower() not in ("http", "https"):
        return None
    return parts.hostname.lower(), port or (443 if parts.scheme.lower() == "https" else 80)


def device_access(
    camera: Camera, cipher: CredentialCipher, config_cameras: list[CameraConfig] | None = None
) -> DeviceAccess:
    """The camera's ONVIF access; Conflict when it has no ONVIF device service.

    Registry cameras carry their encrypted password; YAML cameras (``source="config"``) take the
    device URL and the credentials from their entry in ``config_cameras``.
    """
    url, username, password = camera.onvif_url, camera.username, None
    if camera.source == CameraSource.CONFIG:
        config = next((c for c in config_cameras or [] if c.id == camera.id), None)
        url = config.onvif_url if config is not None else None
        username = config.username if config is not None else None
        password = config.password.get_secret_value() if config and config.password else None
    elif camera.password_enc:
        password = cipher.decrypt(camera.password_enc)
    endpoint = endpoint_of(url) if url else None
    if endpoint is None:
        raise Conflict(f"camera {camera.id!r} has no ONVIF device service (onvif_url)", title="Not ONVIF")
    return DeviceAccess(camera.id, endpoint[0], endpoint[1], username or "", password or "")


@asynccontextmanager
async def connected(
    access: DeviceAccess, *, timeout_s: float = CALL_TIMEOUT_S
) -> AsyncIterator[OnvifCameraClient]:
    """A connected client (clock offset measured: ``adjust_time=True``), closed on the way out."""
    client = OnvifCameraClient(
        access.host, access.port, access.username, access.password, timeout_s=timeout_s, name=access.camera_id
    )
    try:
        await client.connect()
        yield client
    finally:
        await client.close()


async def read_device(access: DeviceAccess, *, timeout_s: float = READ_TIMEOUT_S) -> DeviceSnapshot:
    """Everything the registry keeps about the camera, within ``timeout_s``; raises OnvifError."""
    try:
        async with asyncio.timeout(timeout_s), connected(access) as client:
            return await client.read_device()
    except TimeoutError as err:  # the overall bound; each call's own time-out is already mapped
        raise OnvifTimeout(f"reading the device took over {timeout_s:g} s", camera=access.camera_id) from err


def device_info(snapshot: DeviceSnapshot) -> dict[str, Any]:
    """The JSON kept in ``cameras.device_info``: identity, services, profiles (no URIs, no secrets)."""
    info, caps = snapshot.info, snapshot.capabilities
    return {
        "manufacturer": info.manufacturer,
        "model": info.model,
        "firmware": info.firmware_version,
        "serial": info.serial_number,
        "hardware_id": info.hardware_id,
        "capabilities": {"media": caps.media, "ptz": caps.ptz, "events": caps.events},
        "profiles": [
            {
                "token": p.token,
                "name": p.name,
                "encoding": p.encoding,
                "width": p.width,
                "height": p.height,
                "fps": p.fps,
                "bitrate_kbps": p.bitrate_kbps,
            }
            for p in snapshot.profiles
        ],
        "main_profile": snapshot.main.token,
        "sub_profile": snapshot.sub.token,
        "ptz_presets": len(snapshot.ptz.presets) if snapshot.ptz is not None else 0,
        "clock_offset_s": round(snapshot.clock_offset_s, 3),
        "read_at": datetime.now(UTC).isoformat(),
    }


def apply_snapshot(camera: Camera, snapshot: DeviceSnapshot) -> None:
    """Fill the row from a successful read; a status this module had set is cleared."""
    camera.main_url = snapshot.main.stream_uri
    camera.sub_url = snapshot.sub.stream_uri if snapshot.sub.token != snapshot.main.token else None
    camera.snapshot_url = snapshot.snapshot_uri
    camera.ptz = snapshot.ptz is not None
    camera.device_info = device_info(snapshot)
    if camera.status_reason.startswith(REASON_PREFIX):
        _set_status(camera, CameraStatus.UNKNOWN, "")  # the supervisor reports the stream from here


def apply_error(camera: Camera, err: OnvifError) -> None:
    """Record why the camera could not be read: its status (``status_for``) and the reason."""
    _set_status(camera, CameraStatus(status_for(err).value), REASON_PREFIX + err.reason)


def _set_status(camera: Camera, status: CameraStatus, reason: str) -> None:
    if camera.status != status or camera.status_reason != reason:
        camera.status, camera.status_reason = status, reason
        camera.status_changed_at = datetime.now(UTC)
        camera.online_since = None


def needs_read(camera: Camera) -> bool:
    """An API camera registered by its ONVIF URL whose stream URIs are not known yet."""
    return (
        camera.source == CameraSource.API
        and camera.protocol == CameraProtocol.ONVIF
        and bool(camera.onvif_url)
        and not camera.main_url
    )


async def sync_camera(
    *, session: AsyncSession, camera: Camera, cipher: CredentialCipher, timeout_s: float = READ_TIMEOUT_S
) -> OnvifError | None:
    """Read the camera and commit what was learnt (URIs, or the status); the error, if any.

    Nothing is held open in the database while the camera is asked: the row is committed after.
    """
    access = device_access(camera, cipher)
    await session.commit()  # end the read transaction (rows stay loaded: expire_on_commit=False)
    try:
        snapshot = await read_device(access, timeout_s=timeout_s)
    except OnvifError as err:
        log.warning("%s: cannot read the camera over ONVIF: %s", camera.id, err.reason)
        apply_error(camera, err)
        await session.commit()
        return err
    apply_snapshot(camera, snapshot)
    await session.commit()
    log.info(
        "%s: read over ONVIF (%s %s, main %s)",
        camera.id,
        snapshot.info.manufacturer,
        snapshot.info.model,
        snapshot.main.token,
    )
    return None


async def fill_after_create(*, session: AsyncSession, camera: Camera, cipher: CredentialCipher) -> None:
    """The create handler's hook, after its commit: read a camera registered by ONVIF URL only."""
    if needs_read(camera):
        await sync_camera(session=session, camera=camera, cipher=cipher)
