"""One camera's ONVIF client on onvif-zeep-async: connect, read what the hub needs, call with time-outs.

Every library call goes through :meth:`OnvifCameraClient.call`, which bounds it with
``asyncio.timeout`` and maps whatever the library raised to :mod:`adapters.onvif.errors` once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from adapters.onvif.errors import (
    ONVIF_ERRORS,
    OnvifClockSkew,
    OnvifFault,
    OnvifMalformedReply,
    OnvifNotSupported,
    map_onvif_error,
)
from adapters.onvif.models import (
    Capabilities,
    DeviceSnapshot,
    MediaProfile,
    PtzInfo,
    parse_device_info,
    parse_media_uri,
    parse_preset,
    parse_profiles,
    parse_ptz_node,
)

logger = logging.getLogger(__name__)

NAMESPACES = {
    "media": "http://www.onvif.org/ver10/media/wsdl",
    "ptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "events": "http://www.onvif.org/ver10/events/wsdl",
}
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}  # RTP over RTSP (TCP)
# Optional features whose absence is a state, not a failure: the probe stores False and goes on.
PROBE_ERRORS = (
    OnvifNotSupported,  # the service is not advertised, or answers ActionNotSupported
    OnvifFault,  # advertised but refused (some firmwares list PTZ on fixed cameras)
)
SNAPSHOT_ERRORS = (OnvifNotSupported, OnvifFault)  # GetSnapshotUri is optional in Profile S
_PROXY_VARIABLES = ("http_proxy", "https_proxy")


@contextlib.contextmanager
def _keep_proxy_environment() -> Iterator[None]:
    """onvif-zeep-async: ONVIFCamera() deletes http_proxy/https_proxy from os.environ; put them back."""
    saved = {name: os.environ[name] for name in _PROXY_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class OnvifCameraClient:
    """ONVIF access to one camera; ``await connect()`` before anything else, ``await close()`` after."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        timeout_s: float = 10.0,
        max_clock_offset_s: float | None = None,
        name: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._password = username, password
        self.timeout_s = timeout_s
        self.max_clock_offset_s = max_clock_offset_s
        self.name = name or f"{host}:{port}"
        self.clock_offset_s = 0.0
        self.capabilities: Capabilities | None = None
        self._camera: Any = None  # onvif.ONVIFCamera (untyped)

    @property
    def connected(self) -> bool:
        return self._camera is not None

    @property
    def camera(self) -> Any:
        """The library's ONVIFCamera (for the event subscriber); only after connect()."""
        if self._camera is None:
            raise RuntimeError(f"{self.name}: connect() first")
        return self._camera

    async def connect(self) -> None:
        """Sync the clock offset, learn the service addresses and probe the optional services."""
        if self._camera is None:
            # Imported here, after adapters.onvif.errors undid the library's logging.basicConfig.
            from onvif import ONVIFCamera

            with _keep_proxy_environment():
                self._camera = ONVIFCamera(
                    self.host, self.port, self._username, self._password, no_cache=True, adjust_time=True
                )
        await self.refresh()
        self.capabilities = await self._probe()
        logger.info(
            "%s: ONVIF connected (%s, clock offset %+.1f s)",
            self.name,
            self.capabilities,
            self.clock_offset_s,
        )

    async def refresh(self) -> None:
        """Measure the clock offset again and re-read the service addresses (after a reboot, say)."""
        camera = self.camera
        before = self.clock_offset_s
        try:
            async with asyncio.timeout(self.timeout_s):
                await camera.update_xaddrs()
        except ONVIF_ERRORS as err:
            raise map_onvif_error(
                err, camera=self.name, operation="GetSystemDateAndTime/GetServices"
            ) from err
        self.clock_offset_s = camera.dt_diff.total_seconds() if camera.dt_diff is not None else 0.0
        if abs(self.clock_offset_s - before) > 1.0:
            # onvif-zeep-async: each service keeps the offset it was created with; make new ones.
            for key, service in list(camera.services.items()):
                if key[0] != "devicemgmt":
                    await service.close()
                    del camera.services[key]
        limit = self.max_clock_offset_s
        if limit is not None and abs(self.clock_offset_s) > limit:
            offset = f"{self.clock_offset_s:+.0f} s"
            raise OnvifClockSkew(f"the camera clock is {offset} off (at most {limit:g} s)", camera=self.name)

    async def close(self) -> None:
        if self._camera is not None:
            camera, self._camera = self._camera, None
            with contextlib.suppress(*ONVIF_ERRORS):  # closing sockets; the camera may be long gone
                await camera.close()

    async def call(
        self,
        service: str,
        operation: str,
        params: dict[str, Any] | None = None,
        *,
        port_type: str | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """``operation`` on ``service`` (``devicemgmt``, ``media``, ``ptz``, …), within the time-out."""
        camera = self.camera
        try:
            async with asyncio.timeout(self.timeout_s if timeout_s is None else timeout_s):
                proxy = await camera.create_onvif_service(service, port_type=port_type)
                return await getattr(proxy, operation)(params)
        except ONVIF_ERRORS as err:
            raise map_onvif_error(err, camera=self.name, operation=operation) from err

    def require(self, feature: str) -> None:
        """Raise OnvifNotSupported unless the probe found ``feature`` (``media``, ``ptz``, ``events``)."""
        if self.capabilities is None:
            raise RuntimeError(f"{self.name}: connect() first")
        if not getattr(self.capabilities, feature):
            raise OnvifNotSupported(f"the camera has no {feature} service", camera=self.name)

    async def _probe(self) -> Capabilities:
        xaddrs = self.camera.xaddrs
        ptz = events = False
        if NAMESPACES["ptz"] in xaddrs:
            with contextlib.suppress(*PROBE_ERRORS):
                ptz = bool(await self.call("ptz", "GetNodes"))
        if NAMESPACES["events"] in xaddrs:
            with contextlib.suppress(*PROBE_ERRORS):
                reply = await self.call("events", "GetServiceCapabilities")
                events = getattr(reply, "WSPullPointSupport", None) is not False
        return Capabilities(media=NAMESPACES["media"] in xaddrs, ptz=ptz, events=events)

    async def read_device(
        self, *, main_token: str | None = None, sub_token: str | None = None
    ) -> DeviceSnapshot:
        """Identity, profiles with their stream URIs, main/sub choice, snapshot URI and PTZ setup.

        ``main`` is the profile with the most pixels and ``sub`` the one with the fewest, unless
        the tokens name others.
        """
        self.require("media")
        assert self.capabilities is not None
        try:
            info = parse_device_info(await self.call("devicemgmt", "GetDeviceInformation"))
            profiles = []
            for profile in parse_profiles(await self.call("media", "GetProfiles")):
                request = {"StreamSetup": STREAM_SETUP, "ProfileToken": profile.token}
                reply = await self.call("media", "GetStreamUri", request)
                uri = parse_media_uri(reply, "GetStreamUri", profile.token, ("rtsp", "rtsps"))
                profiles.append(replace(profile, stream_uri=uri))
            main = self._pick(profiles, main_token, largest=True)
            sub = self._pick(profiles, sub_token, largest=False)
            snapshot_uri = await self._snapshot_uri(main.token)
            ptz = await self._ptz_info(main.token) if self.capabilities.ptz else None
        except OnvifMalformedReply as err:
            if err.camera is None:  # from a parser, which does not know the camera
                err.camera = self.name
            raise
        return DeviceSnapshot(
            info=info,
            capabilities=self.capabilities,
            profiles=tuple(profiles),
            main=main,
            sub=sub,
            snapshot_uri=snapshot_uri,
            ptz=ptz,
            clock_offset_s=self.clock_offset_s,
        )

    def _pick(self, profiles: list[MediaProfile], token: str | None, *, largest: bool) -> MediaProfile:
        if token is None:
            return (max if largest else min)(profiles, key=lambda p: p.pixels)
        for profile in profiles:
            if profile.token == token:
                return profile
        known = ", ".join(p.token for p in profiles)
        raise OnvifNotSupported(f"no video profile {token!r} (the camera has {known})", camera=self.name)

    async def _snapshot_uri(self, token: str) -> str | None:
        try:
            reply = await self.call("media", "GetSnapshotUri", {"ProfileToken": token})
        except SNAPSHOT_ERRORS as err:
            logger.debug("%s: no snapshot URI: %s", self.name, err.reason)
            return None
        return parse_media_uri(reply, "GetSnapshotUri", token, ("http", "https"))

    async def _ptz_info(self, token: str) -> PtzInfo:
        nodes = [parse_ptz_node(raw) for raw in await self.call("ptz", "GetNodes") or []]
        presets = [
            parse_preset(raw) for raw in await self.call("ptz", "GetPresets", {"ProfileToken": token}) or []
        ]
        return PtzInfo(tuple(nodes), tuple(presets))
