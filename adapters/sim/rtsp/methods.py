"""The RTSP methods of the simulator (RFC 2326 §10): one answer per request, no networking.

:meth:`Methods.dispatch` turns a parsed request into the response bytes, or None when the camera
is offline and the connection must be reset instead of answered.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from adapters.sim.rtsp.auth import Authenticator
from adapters.sim.rtsp.messages import RtspRequest, format_response, parse_transport
from adapters.sim.rtsp.rtp import RtpSequencer
from adapters.sim.rtsp.sdp import build_video_sdp
from adapters.sim.rtsp.session import Connection, Session, TcpOut, UdpOut
from adapters.sim.rtsp.streams import SimStream
from adapters.sim.rtsp.udp import Address, UdpPair

logger = logging.getLogger(__name__)

PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER"
TRACK = "trackID=0"
OPEN_METHODS = {"OPTIONS"}  # answered without credentials, as most cameras do


class Methods:
    def __init__(
        self,
        *,
        streams: Mapping[str, SimStream],
        host: str,
        session_timeout: int,
        authenticator: Authenticator | None,
        udp: Callable[[], UdpPair | None],
    ) -> None:
        self._streams = streams
        self._host = host
        self._timeout = session_timeout
        self._auth = authenticator
        self._udp = udp
        self.udp_peers: dict[Address, Session] = {}  # client RTP and RTCP addresses → session
        self._handlers: dict[str, Callable[[Connection, RtspRequest], bytes | None]] = {
            "OPTIONS": self._options,
            "DESCRIBE": self._describe,
            "SETUP": self._setup,
            "PLAY": self._play,
            "PAUSE": self._pause,
            "TEARDOWN": self._teardown,
            "GET_PARAMETER": self._get_parameter,
        }

    def dispatch(self, connection: Connection, request: RtspRequest) -> bytes | None:
        now = time.monotonic()
        connection.touch(now)
        if request.session_id in connection.sessions:
            connection.sessions[request.session_id].last_seen = now
        handler = self._handlers.get(request.method)
        if handler is None:
            return format_response(501, request.cseq, {"Public": PUBLIC})
        if (
            self._auth is not None
            and request.method not in OPEN_METHODS
            and not self._auth.check(request.method, request.url, request.header("authorization"))
        ):
            return format_response(401, request.cseq, {"WWW-Authenticate": self._auth.challenge()})
        try:
            return handler(connection, request)
        except Exception:  # a simulator bug must not kill the connection silently
            logger.exception("sim rtsp: %s %s failed", request.method, request.url)
            return format_response(500, request.cseq)

    def end_session(self, session: Session) -> None:
        session.stream.sessions.discard(session)
        session.playing = False
        session.connection.sessions.pop(session.id, None)
        if session.drop_timer is not None:
            session.drop_timer.cancel()
        if isinstance(session.out, UdpOut):
            for address in (session.out.rtp_address, session.out.rtcp_address):
                if self.udp_peers.get(address) is session:
                    del self.udp_peers[address]

    def _find_session(self, connection: Connection, request: RtspRequest) -> Session | int:
        """The request's session, or the status to answer: 455 before SETUP, 454 for an unknown id."""
        session_id = request.session_id
        if session_id is None:
            return 455
        session = connection.sessions.get(session_id)
        return 454 if session is None else session

    def _session_header(self, session: Session) -> str:
        return f"{session.id};timeout={self._timeout}"

    def _options(self, _connection: Connection, request: RtspRequest) -> bytes:
        return format_response(200, request.cseq, {"Public": PUBLIC})

    def _describe(self, _connection: Connection, request: RtspRequest) -> bytes | None:
        parts = urlsplit(request.url)
        stream = self._streams.get(parts.path.strip("/"))
        if stream is None:
            return format_response(404, request.cseq)
        if stream.faults.refusing():
            return None
        media = stream.media
        sdp = build_video_sdp(
            codec=media.codec,
            parameter_sets=media.parameter_sets,
            fps=media.fps,
            session_id=stream.loop.rtp_base,
            origin_address=self._host,
            control=TRACK,
        )
        base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"
        headers = {"Content-Type": "application/sdp", "Content-Base": base}
        return format_response(200, request.cseq, headers, sdp.encode())

    def _setup(self, connection: Connection, request: RtspRequest) -> bytes | None:
        path = urlsplit(request.url).path.strip("/")
        stream = self._streams.get(path)
        if stream is None:
            parent, _, control = path.rpartition("/")
            stream = self._streams.get(parent) if control == TRACK else None
        if stream is None:
            return format_response(404, request.cseq)
        if stream.faults.refusing():
            return None
        raw_transport = request.header("transport")
        if raw_transport is None:
            return format_response(400, request.cseq)
        try:
            specs = parse_transport(raw_transport)
        except ValueError as err:
            logger.warning("sim camera %s: bad Transport %r: %s", stream.path, raw_transport, err)
            return format_response(400, request.cseq)
        udp = self._udp()
        spec = next(
            (s for s in specs if s.unicast and (s.is_tcp or (s.client_port is not None and udp is not None))),
            None,
        )
        if spec is None:
            return format_response(461, request.cseq)
        if request.session_id is not None:
            found = self._find_session(connection, request)
            if isinstance(found, int):
                return format_response(found, request.cseq)
            if found.stream is not stream:
                return format_response(459, request.cseq)
            session = found
        else:
            out: TcpOut | UdpOut
            if spec.is_tcp:
                out = TcpOut(connection.writer, spec.interleaved or (0, 1))
            else:
                assert udp is not None and spec.client_port is not None
                out = UdpOut(udp, connection.peer_host, spec.client_port)
            session = Session(
                id=secrets.token_hex(8),
                stream=stream,
                connection=connection,
                out=out,
                setup_url=request.url,
                rtp=RtpSequencer(ssrc=secrets.randbits(32), first_seq=secrets.randbits(16)),
            )
            connection.sessions[session.id] = session
            if isinstance(out, UdpOut):
                self.udp_peers[out.rtp_address] = self.udp_peers[out.rtcp_address] = session
        transport = f"{session.out.transport_header()};ssrc={session.rtp.ssrc:08X}"
        headers = {"Transport": transport, "Session": self._session_header(session)}
        return format_response(200, request.cseq, headers)

    def _play(self, connection: Connection, request: RtspRequest) -> bytes:
        session = self._find_session(connection, request)
        if isinstance(session, int):
            return format_response(session, request.cseq)
        stream = session.stream
        if not session.playing:
            session.start_index = stream.loop.next_keyframe_index()
            session.wait_keyframe = True
            session.playing = True
            stream.sessions.add(session)
            logger.info("sim camera %s: session %s playing", stream.path, session.id)
            drop_after = stream.faults.drop_after_s()
            if drop_after is not None and session.drop_timer is None:
                session.drop_timer = asyncio.get_running_loop().call_later(drop_after, self._drop, session)
        rtptime = stream.loop.unit_at(session.start_index).rtp_timestamp
        headers = {
            "Session": self._session_header(session),
            "Range": "npt=0.000-",
            "RTP-Info": f"url={session.setup_url};seq={session.rtp.seq};rtptime={rtptime}",
        }
        return format_response(200, request.cseq, headers)

    def _drop(self, session: Session) -> None:
        logger.info("sim camera %s: drop fault, closing session %s", session.stream.path, session.id)
        session.connection.writer.close()  # FIN after what is queued: the client reads to the end

    def _pause(self, connection: Connection, request: RtspRequest) -> bytes:
        session = self._find_session(connection, request)
        if isinstance(session, int):
            return format_response(session, request.cseq)
        session.playing = False
        session.stream.sessions.discard(session)
        return format_response(200, request.cseq, {"Session": self._session_header(session)})

    def _teardown(self, connection: Connection, request: RtspRequest) -> bytes:
        session = self._find_session(connection, request)
        if isinstance(session, int):
            return format_response(session, request.cseq)
        self.end_session(session)
        return format_response(200, request.cseq)

    def _get_parameter(self, connection: Connection, request: RtspRequest) -> bytes:
        if request.session_id is None:
            return format_response(200, request.cseq)
        session = self._find_session(connection, request)
        if isinstance(session, int):
            return format_response(session, request.cseq)
        return format_response(200, request.cseq, {"Session": self._session_header(session)})
