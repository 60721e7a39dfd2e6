"""An asyncio RTSP server that serves in-memory media as live camera streams (RTP over TCP).

Each camera stream has one :class:`~adapters.sim.media.MediaLoop` and one sender task that fans
each access unit out to the stream's playing sessions, as a real camera's encoder does: a client
that joins starts at the next keyframe. Writes never wait for a client; a client whose socket
buffer grows past a bound drops pictures until the next keyframe, and is disconnected if it stays
behind. UDP transport is not implemented yet (461).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from adapters.sim.media import Media, MediaLoop, ScheduledUnit
from adapters.sim.rtsp.messages import HEAD_END, RtspRequest, format_response, parse_head, parse_transport
from adapters.sim.rtsp.rtp import RtpPayload, RtpSequencer, build_sender_report, interleave, packetize_h264
from adapters.sim.rtsp.sdp import build_h264_sdp

logger = logging.getLogger(__name__)

PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"
TRACK = "trackID=0"
# Read errors that just mean the client went away.
CLIENT_GONE = (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError)


@dataclass(eq=False)
class _Session:
    id: str
    stream: _CameraStream
    writer: asyncio.StreamWriter
    setup_url: str
    channels: tuple[int, int]
    rtp: RtpSequencer
    playing: bool = False
    start_index: int = 0
    dropping_since: float | None = None
    next_report: float = 0.0

    def send(self, channel: int, data: bytes) -> None:
        self.writer.write(interleave(channel, data))


@dataclass(eq=False)
class _CameraStream:
    path: str
    media: Media
    loop: MediaLoop
    sessions: set[_Session] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


@dataclass(eq=False)
class _Connection:
    writer: asyncio.StreamWriter
    sessions: dict[str, _Session] = field(default_factory=dict)


class RtspServer:
    """RTSP/1.0 server: ``add_stream("cam1", media)``, ``await start()``, ``url("cam1")``."""

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
    ) -> None:
        """``send_buffer`` sets SO_SNDBUF on client sockets (small: a camera on a weak uplink)."""
        self.host = host
        self._requested_port = port
        self._session_timeout = session_timeout
        self._report_interval = report_interval
        self._max_buffer = max_client_buffer
        self._max_drop = max_drop_seconds
        self._send_buffer = send_buffer
        self._streams: dict[str, _CameraStream] = {}
        self._connections: dict[asyncio.Task[None], _Connection] = {}
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, path: str) -> str:
        return f"rtsp://{self.host}:{self.port}/{path.strip('/')}"

    def add_stream(self, path: str, media: Media) -> None:
        """Serve ``media`` at ``rtsp://host:port/<path>``; it starts playing when the server does."""
        key = path.strip("/")
        if key in self._streams:
            raise ValueError(f"stream path already in use: {key!r}")
        stream = _CameraStream(key, media, MediaLoop(media))
        self._streams[key] = stream
        if self._server is not None:
            self._start_stream(stream)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self._requested_port)
        for stream in self._streams.values():
            self._start_stream(stream)
        logger.info("sim rtsp %s:%s: serving %s", self.host, self.port, ", ".join(self._streams) or "nothing")

    async def stop(self) -> None:
        """Close every session, connection and sender task."""
        if self._server is None:
            return
        self._server.close()
        # Closing the sockets ends the connection handlers normally: cancelling them would make
        # Python 3.11's StreamReaderProtocol log a spurious CancelledError.
        for connection in self._connections.values():
            connection.writer.transport.abort()
        tasks = set(self._connections)
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
                tasks.add(stream.task)
                stream.task = None
        if tasks:
            await asyncio.wait(tasks)
        await self._server.wait_closed()
        self._server = None

    def _start_stream(self, stream: _CameraStream) -> None:
        stream.loop.epoch = time.monotonic()
        stream.loop.next_index = 0
        stream.task = asyncio.get_running_loop().create_task(
            self._run_stream(stream), name=f"sim-rtsp-stream-{stream.path}"
        )

    async def _run_stream(self, stream: _CameraStream) -> None:
        async for scheduled in stream.loop.play():
            if stream.sessions:
                payloads = packetize_h264(scheduled.unit.nals)
                for session in list(stream.sessions):
                    self._deliver(session, scheduled, payloads)

    def _deliver(self, session: _Session, scheduled: ScheduledUnit, payloads: list[RtpPayload]) -> None:
        """Send one access unit to one session without ever waiting for its socket."""
        transport = session.writer.transport
        if transport.is_closing() or scheduled.index < session.start_index:
            return
        now = time.monotonic()
        buffered = transport.get_write_buffer_size()
        if session.dropping_since is not None:
            if scheduled.unit.is_keyframe and buffered <= self._max_buffer // 4:
                logger.info("sim camera %s: session %s caught up", session.stream.path, session.id)
                session.dropping_since = None
            elif now - session.dropping_since > self._max_drop:
                logger.warning("sim camera %s: session %s too slow, closing", session.stream.path, session.id)
                transport.abort()
                return
            else:
                return
        elif buffered > self._max_buffer:
            logger.warning(
                "sim camera %s: session %s is %d bytes behind, dropping to the next keyframe",
                session.stream.path,
                session.id,
                buffered,
            )
            session.dropping_since = now
            return
        if now >= session.next_report:  # before the first picture too, so clients sync at once
            session.next_report = now + self._report_interval
            report = build_sender_report(
                ssrc=session.rtp.ssrc,
                wallclock=time.time(),
                rtp_timestamp=session.stream.loop.rtp_timestamp_at(now),
                packet_count=session.rtp.packet_count,
                octet_count=session.rtp.octet_count,
                cname=f"sim-{session.stream.path}",
            )
            session.send(session.channels[1], report)
        for packet in session.rtp.packets(payloads, scheduled.rtp_timestamp):
            session.send(session.channels[0], packet)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        task.set_name(f"sim-rtsp-conn-{peer}")
        if self._send_buffer is not None:
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
        connection = _Connection(writer)
        self._connections[task] = connection
        try:
            while True:
                first = await reader.readexactly(1)
                if first == b"$":  # interleaved RTCP receiver reports from the client: ignore
                    header = await reader.readexactly(3)
                    await reader.readexactly(int.from_bytes(header[1:], "big"))
                    continue
                head = first + await reader.readuntil(HEAD_END)
                try:
                    request = parse_head(head)
                except ValueError as err:
                    logger.warning("sim rtsp %s: bad request: %s", peer, err)
                    writer.write(format_response(400, None))
                    continue
                request = replace(request, body=await reader.readexactly(request.content_length))
                writer.write(self._dispatch(connection, request))
        except CLIENT_GONE:
            pass
        finally:
            for session in connection.sessions.values():
                self._end_session(session)
            writer.close()
            self._connections.pop(task, None)

    def _dispatch(self, connection: _Connection, request: RtspRequest) -> bytes:
        handlers = {
            "OPTIONS": self._options,
            "DESCRIBE": self._describe,
            "SETUP": self._setup,
            "PLAY": self._play,
            "TEARDOWN": self._teardown,
            "GET_PARAMETER": self._get_parameter,
        }
        handler = handlers.get(request.method)
        if handler is None:
            return format_response(501, request.cseq, {"Public": PUBLIC})
        try:
            return handler(connection, request)
        except Exception:  # a simulator bug must not kill the connection silently
            logger.exception("sim rtsp: %s %s failed", request.method, request.url)
            return format_response(500, request.cseq)

    def _find_session(self, connection: _Connection, request: RtspRequest) -> _Session | int:
        """The request's session, or the status to answer: 455 before SETUP, 454 for an unknown id."""
        session_id = request.session_id
        if session_id is None:
            return 455
        session = connection.sessions.get(session_id)
        return 454 if session is None else session

    def _session_header(self, session: _Session) -> str:
        return f"{session.id};timeout={self._session_timeout}"

    def _options(self, _connection: _Connection, request: RtspRequest) -> bytes:
        return format_response(200, request.cseq, {"Public": PUBLIC})

    def _describe(self, _connection: _Connection, request: RtspRequest) -> bytes:
        parts = urlsplit(request.url)
        stream = self._streams.get(parts.path.strip("/"))
        if stream is None:
            return format_response(404, request.cseq)
        sdp = build_h264_sdp(
            sps=stream.media.sps,
            pps=stream.media.pps,
            fps=stream.media.fps,
            session_id=stream.loop.rtp_base,
            origin_address=self.host,
            control=TRACK,
        )
        base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"
        headers = {"Content-Type": "application/sdp", "Content-Base": base}
        return format_response(200, request.cseq, headers, sdp.encode())

    def _setup(self, connection: _Connection, request: RtspRequest) -> bytes:
        path = urlsplit(request.url).path.strip("/")
        stream = self._streams.get(path)
        if stream is None:
            parent, _, control = path.rpartition("/")
            stream = self._streams.get(parent) if control == TRACK else None
        if stream is None:
            return format_response(404, request.cseq)
        raw_transport = request.header("transport")
        if raw_transport is None:
            return format_response(400, request.cseq)
        try:
            specs = parse_transport(raw_transport)
        except ValueError as err:
            logger.warning("sim camera %s: bad Transport %r: %s", stream.path, raw_transport, err)
            return format_response(400, request.cseq)
        tcp = next((spec for spec in specs if spec.is_tcp and spec.unicast), None)
        if tcp is None:
            return format_response(461, request.cseq)
        if request.session_id is not None:
            found = self._find_session(connection, request)
            if isinstance(found, int):
                return format_response(found, request.cseq)
            if found.stream is not stream:
                return format_response(459, request.cseq)
            session = found
        else:
            session = _Session(
                id=secrets.token_hex(8),
                stream=stream,
                writer=connection.writer,
                setup_url=request.url,
                channels=tcp.interleaved or (0, 1),
                rtp=RtpSequencer(ssrc=secrets.randbits(32), first_seq=secrets.randbits(16)),
            )
            connection.sessions[session.id] = session
        rtp_channel, rtcp_channel = session.channels
        transport = f"RTP/AVP/TCP;unicast;interleaved={rtp_channel}-{rtcp_channel}"
        transport += f";ssrc={session.rtp.ssrc:08X}"
        headers = {"Transport": transport, "Session": self._session_header(session)}
        return format_response(200, request.cseq, headers)

    def _play(self, connection: _Connection, request: RtspRequest) -> bytes:
        session = self._find_session(connection, request)
        if isinstance(session, int):
            return format_response(session, request.cseq)
        stream = session.stream
        if not session.playing:
            session.start_index = stream.loop.next_keyframe_index()
            session.playing = True
            stream.sessions.add(session)
            logger.info("sim camera %s: session %s playing", stream.path, session.id)
        rtptime = stream.loop.unit_at(session.start_index).rtp_timestamp
        headers = {
            "Session": self._session_header(session),
            "Range": "npt=0.000-",
            "RTP-Info": f"url={session.setup_url};seq={session.rtp.seq};rtptime={rtptime}",
        }
        return format_response(200, request.cseq, headers)

    def _teardown(self, connection: _Connection, request: RtspRequest) -> bytes:
        session = self._find_session(connection, request)
        if isinstance(session, int):
            return format_response(session, request.cseq)
        del connection.sessions[session.id]
        self._end_session(session)
        return format_response(200, request.cseq)

    def _get_parameter(self, connection: _Connection, request: RtspRequest) -> bytes:
        if request.session_id is None:
            return format_response(200, request.cseq)
        session = self._find_session(connection, request)
        if isinstance(session, int):
            return format_response(session, request.cseq)
        return format_response(200, request.cseq, {"Session": self._session_header(session)})

    def _end_session(self, session: _Session) -> None:
        session.stream.sessions.discard(session)
        session.playing = False
