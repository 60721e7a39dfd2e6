"""The server's UDP socket pair for RTP/AVP unicast (RFC 3550 §11: RTP on an even port, RTCP on the next).

One pair per server, shared by every UDP session; a session is told apart by the client's
address. Whatever a client sends to either port (FFmpeg's NAT "punch" packets, RTCP receiver
reports) reaches ``on_packet``, which the server uses as a sign of life for the session timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any

Address = tuple[str, int]
SEND_BUFFER = 4 * 1024 * 1024  # a keyframe's burst of datagrams must not hit EAGAIN
_BIND_ATTEMPTS = 64


def bind_even_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """Two bound, non-blocking UDP sockets on ports ``p`` (even) and ``p + 1``."""
    for _ in range(_BIND_ATTEMPTS):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((host, 0))
        port = rtp.getsockname()[1]
        if port % 2 or port == 65535:
            rtp.close()
            continue
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtcp.bind((host, port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            continue
        for sock in (rtp, rtcp):
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        return rtp, rtcp
    raise OSError(f"no free even/odd UDP port pair on {host} after {_BIND_ATTEMPTS} attempts")


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Callable[[Address], None]) -> None:
        self._on_packet = on_packet

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._on_packet((str(addr[0]), addr[1]))

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable from a client that went away: its session times out


class UdpPair:
    """The bound RTP and RTCP endpoints; ``await UdpPair.open(host, on_packet)``."""

    def __init__(self, rtp: asyncio.DatagramTransport, rtcp: asyncio.DatagramTransport) -> None:
        self._rtp = rtp
        self._rtcp = rtcp
        self.rtp_port = int(rtp.get_extra_info("sockname")[1])
        self.rtcp_port = int(rtcp.get_extra_info("sockname")[1])
        self.closed = False

    @classmethod
    async def open(cls, host: str, on_packet: Callable[[Address], None]) -> UdpPair:
        loop = asyncio.get_running_loop()
        rtp_sock, rtcp_sock = bind_even_pair(host)
        rtp, _ = await loop.create_datagram_endpoint(lambda: _Receiver(on_packet), sock=rtp_sock)
        rtcp, _ = await loop.create_datagram_endpoint(lambda: _Receiver(on_packet), sock=rtcp_sock)
        return cls(rtp, rtcp)

    def send_rtp(self, packet: bytes, address: Address) -> None:
        self._rtp.sendto(packet, address)

    def send_rtcp(self, packet: bytes, address: Address) -> None:
        self._rtcp.sendto(packet, address)

    def close(self) -> None:
        self.closed = True
        self._rtp.close()
        self._rtcp.close()
