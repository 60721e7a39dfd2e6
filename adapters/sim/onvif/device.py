"""The simulated ONVIF device: an aiohttp server speaking SOAP 1.2, dispatching on the Body's QName.

Every service answers on every path (the XAddrs only look like a real camera's); requests to
``/onvif/subscription/<id>`` address that pull point. ``GetSystemDateAndTime``, ``GetServices``
and ``GetCapabilities`` need no credentials, everything else a WS-Security UsernameToken.

The snapshot URL (``/onvif/snapshot/<token>.jpg``) serves ``await snapshot()`` as image/jpeg and
asks for the device's credentials by HTTP Digest (MD5, qop=auth); Basic is accepted as well.

Faults (:class:`~adapters.sim.faults.CameraFaults`): ``refusing()`` closes connections without a
reply, ``soap_delay_s()`` delays each SOAP reply, ``soap_malformed()`` sends a broken reply
(HTTP 200, :func:`~adapters.sim.onvif.soap.corrupt_reply`), ``clock_skew_s()`` shifts the device clock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from adapters.sim.faults import CameraFaults
from adapters.sim.onvif.models import DeviceIdentity, SimProfile
from adapters.sim.onvif.ptz_state import PtzState
from adapters.sim.onvif.security import (
    NonceCache,
    digest_response,
    parse_digest_authorization,
    parse_username_token,
    verify_username_token,
)
from adapters.sim.onvif.services import (
    DEVICE_PATH,
    EVENTS_PATH,
    MEDIA_PATH,
    PTZ_PATH,
    SNAPSHOT_PATH,
    Call,
    Operations,
    Service,
)
from adapters.sim.onvif.services.device_mgmt import NO_AUTH, DeviceService, default_scopes
from adapters.sim.onvif.services.events import EventsService
from adapters.sim.onvif.services.media import SOURCE_CONFIG_TOKEN, MediaService
from adapters.sim.onvif.services.ptz import PtzService
from adapters.sim.onvif.soap import SoapFault, build_envelope, build_fault, corrupt_reply, parse_envelope
from adapters.sim.onvif.subscriptions import MOTION_TOPIC, TAMPER_TOPIC, EventHub, EventMessage

logger = logging.getLogger(__name__)

SOAP_TYPES = frozenset({"application/soap+xml", "text/xml", "application/xml"})
REPLY_TYPE = "application/soap+xml; charset=utf-8"
REALM = "SimCam"
MAX_DIGEST_NONCES = 256


class OnvifDevice:
    """One simulated camera's ONVIF side; ``await start()`` binds ``port`` (0: a free one).

    ``motion()`` is polled about twice a second while pull-point subscriptions exist;
    ``on_reboot()`` runs as a task after SystemReboot has been answered.
    ``reject_replayed_nonces`` refuses a UsernameToken nonce seen before (off by default:
    Debian's libonvif repeats nonces within a second).
    """

    def __init__(
        self,
        *,
        identity: DeviceIdentity,
        profiles: list[SimProfile],
        username: str,
        password: str,
        faults: CameraFaults,
        snapshot: Callable[[], Awaitable[bytes]],
        host: str = "127.0.0.1",
        port: int = 0,
        scopes: list[str] | None = None,
        clock_tolerance_s: float = 300.0,
        has_ptz: bool = True,
        on_reboot: Callable[[], Awaitable[None]] | None = None,
        motion: Callable[[], bool] | None = None,
        reject_replayed_nonces: bool = False,
    ) -> None:
        if not profiles:
            raise ValueError(f"{identity.hostname}: an ONVIF device needs at least one profile")
        self.identity, self.profiles = identity, profiles
        self.username, self.password = username, password
        self.faults, self.snapshot = faults, snapshot
        self.host, self.port = host, port
        self.clock_tolerance_s = clock_tolerance_s
        self.has_ptz, self.on_reboot, self.motion = has_ptz, on_reboot, motion
        self.replays = NonceCache() if reject_replayed_nonces else None
        self.ptz = PtzState()
        self.events = EventHub(
            name=identity.hostname, clock=self.now, properties=self._properties, source=SOURCE_CONFIG_TOKEN
        )
        self.operations: Operations = {}
        services: list[Service] = [
            DeviceService(
                identity=identity,
                scopes=scopes or default_scopes(identity, has_ptz),
                host=host,
                base_url=self.base_url,
                clock=self.now,
                has_ptz=has_ptz,
                reboot=self._reboot,
            ),
            MediaService(profiles, self.base_url, has_ptz),
            EventsService(self.events, self.base_url),
        ]
        if has_ptz:
            services.append(PtzService(self.ptz, lambda: [p.token for p in self.profiles], self.now))
        for service in services:
            self.operations.update(service.operations())
        self._digest_nonces: dict[str, None] = {}  # issued, oldest first
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- public surface ------------------------------------------------------------------
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def device_service_url(self) -> str:
        return self.base_url() + DEVICE_PATH

    @property
    def xaddrs(self) -> list[str]:
        paths = [DEVICE_PATH, MEDIA_PATH, EVENTS_PATH] + ([PTZ_PATH] if self.has_ptz else [])
        return [self.base_url() + path for path in paths]

    def now(self) -> datetime:
        """The device clock: real UTC plus the clock_skew fault."""
        return datetime.now(UTC) + timedelta(seconds=self.faults.clock_skew_s())

    def emit_event(self, topic: str, data: Mapping[str, str], *, operation: str | None = "Changed") -> None:
        """Queue an event (``topic`` like ``tns1:VideoSource/MotionAlarm``) on every subscription."""
        message = EventMessage(topic, self.now(), operation, self.events.source, tuple(data.items()))
        self.events.publish(message)

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/{path:.*}", self._soap)
        app.router.add_get(SNAPSHOT_PATH + "{token}.jpg", self._snapshot)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Refused() if self.faults.refusing() else server(), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("%s: simulated ONVIF device at %s", self.identity.hostname, self.device_service_url)

    async def stop(self) -> None:
        await self.events.close()
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        others = [t for t in self._tasks if t is not asyncio.current_task()]
        if others:
            await asyncio.wait(others)

    # --- internals -----------------------------------------------------------------------
    def _properties(self) -> dict[str, bool]:
        states = {TAMPER_TOPIC: self.faults.tampered()}
        return {MOTION_TOPIC: self.motion(), **states} if self.motion is not None else states

    def _reboot(self) -> None:
        self.faults.reboot()
        self.events.forget()
        if self.on_reboot is not None:
            task = asyncio.get_running_loop().create_task(
                self._run_on_reboot(self.on_reboot), name="onvif-reboot"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_on_reboot(self, on_reboot: Callable[[], Awaitable[None]]) -> None:
        try:
            await on_reboot()
        except Exception:
            logger.exception("%s: on_reboot failed", self.identity.hostname)

    async def _soap(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refusing():
            return _drop(request)
        reply, status = await self._answer(request)
        delay = self.faults.soap_delay_s()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.faults.soap_malformed():
            reply, status = corrupt_reply(reply), 200
        return web.Response(
            body=reply, status=status, headers={"Content-Type": REPLY_TYPE, "Content-Length": str(len(reply))}
        )

    async def _answer(self, request: web.Request) -> tuple[bytes, int]:
        try:
            if request.content_type not in SOAP_TYPES:
                raise SoapFault("Sender", ("ter:InvalidArgVal",), f"content type {request.content_type!r}")
            try:
                soap = parse_envelope(await request.read())
            except ValueError as err:
                raise SoapFault("Sender", ("ter:WellFormed",), str(err)) from None
            handler = self.operations.get(soap.name)
            if handler is None:
                raise SoapFault("Receiver", ("ter:ActionNotSupported",), f"{soap.name} is not supported")
            if soap.name not in NO_AUTH:
                self._authenticate(soap.header)
            try:
                body = await handler(Call(soap.operation, request.path))
            except ValueError as err:
                raise SoapFault("Sender", ("ter:InvalidArgVal",), str(err)) from None
            return build_envelope(body), 200
        except SoapFault as fault:
            logger.debug("%s: SOAP fault %s: %s", self.identity.hostname, fault.subcodes, fault.reason)
            return build_fault(fault), fault.http_status

    def _authenticate(self, header: Any) -> None:
        try:
            verify_username_token(
                parse_username_token(header),
                username=self.username,
                password=self.password,
                now=self.now(),
                tolerance_s=self.clock_tolerance_s,
                replays=self.replays,
            )
        except ValueError as err:
            raise SoapFault("Sender", ("ter:NotAuthorized",), f"Sender not authorized: {err}") from None

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refusing():
            return _drop(request)
        token = request.match_info["token"]
        if token not in {p.token for p in self.profiles}:
            raise web.HTTPNotFound(text=f"no profile {token!r}")
        if not self._http_authorized(request):
            nonce = secrets.token_hex(16)
            self._digest_nonces[nonce] = None
            while len(self._digest_nonces) > MAX_DIGEST_NONCES:
                del self._digest_nonces[next(iter(self._digest_nonces))]
            challenge = f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": challenge})
        return web.Response(body=await self.snapshot(), content_type="image/jpeg")

    def _http_authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return user == self.username and hmac.compare_digest(password, self.password)
        try:
            params = parse_digest_authorization(header)
        except ValueError:
            return False
        expected = digest_response(params, password=self.password, method=request.method)
        return (
            params["username"] == self.username
            and params["nonce"] in self._digest_nonces
            and hmac.compare_digest(params["response"], expected)
        )


class _Refused(asyncio.Protocol):
    """Accepts the TCP connection and closes it at once: an offline or rebooting camera."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


def _drop(request: web.Request) -> web.StreamResponse:
    """Close a kept-alive connection without answering."""
    if request.transport is not None:
        request.transport.close()
    raise web.HTTPServiceUnavailable()
