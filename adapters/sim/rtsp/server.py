"""An asyncio RTSP/1.0 server that serves in-memory media as live camera streams.

Each camera stream (:class:`~adapters.sim.rtsp.streams.SimStream`) has one playback loop and one
sender task that fans each access unit out to its playing sessions: a client that joins starts at
the next keyframe. RTP goes interleaved in the RTSP connection or over UDP unicast from one server
port pair. Sessions that show no sign of life for ``session_timeout`` seconds are dropped.
Credentials, when set, are checked with Digest and/or Basic authentication (:mod:`.auth`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import replace

from adapters.sim.faults import CameraFaults
from adapters.sim.media import Media
from adapters.sim.rtsp.auth import Authenticator, AuthMode
from adapters.sim.rtsp.messages import HEAD_END, format_response, parse_head
from adapters.sim.rtsp.methods import PUBLIC, TRACK, Methods
from adapters.sim.rtsp.session import Connection, SendPolicy, TcpOut
from adapters.sim.rtsp.streams import SimStream
from adapters.sim.rtsp.udp import Address, UdpPair

__all__ = ["PUBLIC", "TRACK", "RtspServer"]

logger = logging.getLogger(__name__)

# Read errors that just mean the client went away.
CLIENT_GONE = (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError)
TICK_S = 0.1  # how often session time-outs and the offline fault are checked


class RtspServer:
    """RTSP/1.0 server: ``add_stream("cam1/main", media)``, ``await start()``, ``url("cam1/main")``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        session_timeout: int = 60,
        report_interval: float = 5.0,
        max_client_buffer: int = 2 * 1024 * 1024,
        max_drop_seconds: float = 10.0,
        send_buffer: int | None = None,
        credentials: tuple[str, str] | None = None,
        auth: AuthMode | None = None,
    ) -> None:
        """``send_buffer`` sets SO_SNDBUF on client sockets (small: a camera on a weak uplink).

        With ``credentials`` every request but OPTIONS needs them, by ``auth`` ("digest" by default,
        "basic", or "any" to offer both); ``auth=None`` without credentials serves anyone.
        """
        if auth is not None and credentials is None:
            raise ValueError(f"auth={auth!r} needs credentials")
        self.host = host
        self._requested_port = port
        self._session_timeout = session_timeout
        self._policy = SendPolicy(report_interval, max_client_buffer, max_drop_seconds)
        self._send_buffer = send_buffer
        self._streams: dict[str, SimStream] = {}
        self._connections: dict[asyncio.Task[None], Connection] = {}
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._udp: UdpPair | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        authenticator = Authenticator(credentials, auth or "digest") if credentials is not None else None
        self._methods = Methods(
            streams=self._streams,
            host=host,
            session_timeout=session_timeout,
            authenticator=authenticator,
            udp=lambda: self._udp,
        )

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server is not started")
        return self._port

    @property
    def udp_ports(self) -> tuple[int, int]:
        """The server's RTP and RTCP UDP ports."""
        if self._udp is None:
            raise RuntimeError("server is not started")
        return self._udp.rtp_port, self._udp.rtcp_port

    def url(self, path: str) -> str:
        return f"rtsp://{self.host}:{self.port}/{path.strip('/')}"

    def add_stream(self, path: str, media: Media, *, faults: CameraFaults | None = None) -> SimStream:
        """Serve ``media`` at ``rtsp://host:port/<path>``; it starts playing when the server does.

        The streams of one camera (``cam1/main``, ``cam1/sub``) share the camera's ``faults``.
        """
        key = path.strip("/")
        if key in self._streams:
            raise ValueError(f"stream path already in use: {key!r}")
        stream = SimStream(key, media, faults if faults is not None else CameraFaults(), self._policy)
        self._streams[key] = stream
        if self._server is not None:
            stream.start()
        return stream

    def stream(self, path: str) -> SimStream:
        """The stream served at ``path`` (KeyError if none is)."""
        return self._streams[path.strip("/")]

    @property
    def streams(self) -> dict[str, SimStream]:
        return dict(self._streams)

    async def start(self) -> None:
        self._udp = await UdpPair.open(self.host, self._on_udp)
        self._server = await asyncio.start_server(self._handle, self.host, self._requested_port)
        self._port = int(self._server.sockets[0].getsockname()[1])
        for stream in self._streams.values():
            stream.start()
        self._housekeeping = asyncio.get_running_loop().create_task(
            self._keep_house(), name=f"sim-rtsp-housekeeping-{self._port}"
        )
        logger.info("sim rtsp %s:%s: serving %s", self.host, self.port, ", ".join(self._streams) or "nothing")

    async def stop(self) -> None:
        """Close every session, connection and task."""
        if self._server is None:
            return
        self._server.close()
        # Closing the sockets ends the connection handlers normally: cancelling them would make
        # Python 3.11's StreamReaderProtocol log a spurious CancelledError.
        for connection in self._connections.values():
            connection.writer.transport.abort()
        tasks: set[asyncio.Task[None]] = set(self._connections)
        for stream in self._streams.values():
            tasks.update(stream.tasks())
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            tasks.add(self._housekeeping)
            self._housekeeping = None
        if tasks:
            await asyncio.wait(tasks)
        await self._server.wait_closed()
        self._server = None
        self._port = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    def _refusing(self) -> bool:
        """True when every camera this server plays is offline: refuse at the door."""
        return bool(self._streams) and all(s.faults.refusing() for s in self._streams.values())

    def _on_udp(self, address: Address) -> None:
        session = self._methods.udp_peers.get(address)
        if session is not None:
            session.last_seen = time.monotonic()

    async def _keep_house(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            await self._mind_the_door()
            self._reap()

    async def _mind_the_door(self) -> None:
        """Stop listening while every camera is offline (clients get "connection refused")."""
        assert self._server is not None
        refusing = self._refusing()
        if refusing and self._server.is_serving():
            logger.info("sim rtsp %s:%s: offline, not listening", self.host, self._port)
            self._server.close()
        elif not refusing and not self._server.is_serving():
            try:
                self._server = await asyncio.start_server(self._handle, self.host, self._port)
            except OSError as err:  # the port was taken meanwhile: try again next tick
                logger.warning("sim rtsp %s:%s: cannot listen again: %s", self.host, self._port, err)
                return
            logger.info("sim rtsp %s:%s: back online", self.host, self._port)

    def _reap(self) -> None:
        deadline = time.monotonic() - self._session_timeout
        for connection in list(self._connections.values()):
            for session in list(connection.sessions.values()):
                if session.last_seen >= deadline:
                    continue
                logger.info("sim camera %s: session %s timed out", session.stream.path, session.id)
                if isinstance(session.out, TcpOut):
                    connection.writer.transport.abort()  # its RTP goes nowhere else
                self._methods.end_session(session)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        task.set_name(f"sim-rtsp-conn-{peer}")
        connection = Connection(writer, str(peer[0]))
        if self._refusing():
            connection.abort()
            return
        if self._send_buffer is not None:
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
        self._connections[task] = connection
        try:
            await self._serve(reader, connection)
        except CLIENT_GONE:
            pass
        finally:
            for session in list(connection.sessions.values()):
                self._methods.end_session(session)
            writer.close()
            self._connections.pop(task, None)

    async def _serve(self, reader: asyncio.StreamReader, connection: Connection) -> None:
        writer = connection.writer
        while True:
            first = await reader.readexactly(1)
            if first == b"$":  # interleaved RTCP receiver reports: a sign of life, nothing more
                header = await reader.readexactly(3)
                await reader.readexactly(int.from_bytes(header[1:], "big"))
                connection.touch(time.monotonic())
                continue
            head = first + await reader.readuntil(HEAD_END)
            try:
                request = parse_head(head)
            except ValueError as err:
                logger.warning("sim rtsp %s: bad request: %s", connection.peer_host, err)
                writer.write(format_response(400, None))
                continue
            request = replace(request, body=await reader.readexactly(request.content_length))
            response = self._methods.dispatch(connection, request)
            if response is None:
                connection.abort()
                return
            writer.write(response)
