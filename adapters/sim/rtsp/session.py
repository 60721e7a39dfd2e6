"""RTSP sessions and their two ways onto the wire: interleaved in the RTSP connection, or UDP.

A :class:`Session` receives the access units of its camera stream from the stream's sender task
(:mod:`adapters.sim.rtsp.streams`) and never waits for its client: over TCP a client whose socket
buffer grows past a bound drops pictures until the next keyframe, and is disconnected if it stays
behind; over UDP the kernel drops what the client does not read, as on a real network.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.sim.media import ScheduledUnit
from adapters.sim.rtsp.rtp import RtpPayload, RtpSequencer, build_sender_report, interleave
from adapters.sim.rtsp.udp import UdpPair

if TYPE_CHECKING:
    from adapters.sim.rtsp.streams import SimStream

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """How the server treats clients: RTCP cadence and the slow-TCP-client bounds."""

    report_interval: float = 5.0
    max_client_buffer: int = 2 * 1024 * 1024
    max_drop_seconds: float = 10.0


@dataclass(eq=False)
class Connection:
    """One RTSP control connection and the sessions set up on it."""

    writer: asyncio.StreamWriter
    peer_host: str
    sessions: dict[str, Session] = field(default_factory=dict)

    def abort(self) -> None:
        """Reset the connection at once (RST, as a camera that drops off the network)."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None and sock.fileno() >= 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def touch(self, now: float) -> None:
        """Any request on the connection keeps its interleaved sessions alive."""
        for session in self.sessions.values():
            if isinstance(session.out, TcpOut):
                session.last_seen = now


class TcpOut:
    """RTP and RTCP interleaved in the RTSP connection (RFC 2326 §10.12)."""

    def __init__(self, writer: asyncio.StreamWriter, channels: tuple[int, int]) -> None:
        self.writer = writer
        self.channels = channels

    def send_rtp(self, packets: list[bytes]) -> None:
        channel = self.channels[0]
        self.writer.write(b"".join(interleave(channel, packet) for packet in packets))  # one syscall

    def send_rtcp(self, report: bytes) -> None:
        self.writer.write(interleave(self.channels[1], report))

    def backlog(self) -> int:
        return self.writer.transport.get_write_buffer_size()

    def closing(self) -> bool:
        return self.writer.transport.is_closing()

    def transport_header(self) -> str:
        return f"RTP/AVP/TCP;unicast;interleaved={self.channels[0]}-{self.channels[1]}"


class UdpOut:
    """RTP to the client's even port, RTCP to the odd one, from the server's UDP socket pair."""

    def __init__(self, pair: UdpPair, host: str, client_ports: tuple[int, int]) -> None:
        self.pair = pair
        self.rtp_address = (host, client_ports[0])
        self.rtcp_address = (host, client_ports[1])

    def send_rtp(self, packets: list[bytes]) -> None:
        for packet in packets:
            self.pair.send_rtp(packet, self.rtp_address)

    def send_rtcp(self, report: bytes) -> None:
        self.pair.send_rtcp(report, self.rtcp_address)

    def backlog(self) -> int:
        return 0  # UDP never queues for a slow client: the kernel drops

    def closing(self) -> bool:
        return self.pair.closed

    def transport_header(self) -> str:
        client = f"{self.rtp_address[1]}-{self.rtcp_address[1]}"
        return f"RTP/AVP;unicast;client_port={client};server_port={self.pair.rtp_port}-{self.pair.rtcp_port}"


@dataclass(eq=False)
class Session:
    id: str
    stream: SimStream
    connection: Connection
    out: TcpOut | UdpOut
    setup_url: str
    rtp: RtpSequencer
    playing: bool = False
    start_index: int = 0
    wait_keyframe: bool = True
    dropping_since: float | None = None
    next_report: float = 0.0
    last_seen: float = field(default_factory=time.monotonic)
    drop_timer: asyncio.TimerHandle | None = None

    def deliver(
        self,
        scheduled: ScheduledUnit,
        payloads: list[RtpPayload],
        *,
        timestamp: int,
        report_timestamp: int,
        policy: SendPolicy,
        now: float,
    ) -> None:
        """Send one access unit without ever waiting for the client's socket."""
        if self.out.closing() or scheduled.index < self.start_index:
            return
        if self.wait_keyframe:  # joined, resumed or stalled: start on a keyframe
            if not scheduled.unit.is_keyframe:
                return
            self.wait_keyframe = False
        if not self._keeps_up(scheduled, policy, now):
            return
        if now >= self.next_report:  # before the first picture too, so clients sync at once
            self.next_report = now + policy.report_interval
            report = build_sender_report(
                ssrc=self.rtp.ssrc,
                wallclock=time.time(),
                rtp_timestamp=report_timestamp,
                packet_count=self.rtp.packet_count,
                octet_count=self.rtp.octet_count,
                cname=f"sim-{self.stream.path}",
            )
            self.out.send_rtcp(report)
        self.out.send_rtp(self.rtp.packets(payloads, timestamp))

    def _keeps_up(self, scheduled: ScheduledUnit, policy: SendPolicy, now: float) -> bool:
        """False while a slow TCP client is dropping pictures; closes it if it stays behind."""
        buffered = self.out.backlog()
        if self.dropping_since is not None:
            if scheduled.unit.is_keyframe and buffered <= policy.max_client_buffer // 4:
                logger.info("sim camera %s: session %s caught up", self.stream.path, self.id)
                self.dropping_since = None
                return True
            if now - self.dropping_since > policy.max_drop_seconds:
                logger.warning("sim camera %s: session %s too slow, closing", self.stream.path, self.id)
                self.connection.writer.transport.abort()
            return False
        if buffered > policy.max_client_buffer:
            logger.warning(
                "sim camera %s: session %s is %d bytes behind, dropping to the next keyframe",
                self.stream.path,
                self.id,
                buffered,
            )
            self.dropping_since = now
            return False
        return True
