"""The device side of WS-Discovery: one UDP responder speaking for many simulated cameras.

Like a real camera, each device answers a matching Probe with a ProbeMatches message of its own,
sent to the probe's source address and port. By default the responder only hears Probes sent
to its own address (unicast, as a hub probing a list of hosts does). With ``multicast=True`` it
binds the wildcard address, joins 239.255.255.250 on one interface, and announces devices with
Hello when they are added and Bye when they are removed or the responder stops. Tests only ever
use multicast inside a private network namespace.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import time
from typing import Any

from adapters.onvif.wsdiscovery import (
    AppSequence,
    Bye,
    Endpoint,
    Hello,
    Probe,
    ProbeMatches,
    build_bye,
    build_hello,
    build_probe_matches,
    matches_probe,
    new_message_id,
    parse_message,
)

logger = logging.getLogger(__name__)

MULTICAST_GROUP = "239.255.255.250"
DISCOVERY_PORT = 3702
_RECENT_PROBES = 256  # (MessageID, sender) pairs remembered to drop repeated probes


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DiscoveryResponder) -> None:
        self._responder = responder

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._responder._received(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # An ICMP "port unreachable" for a reply: the prober has already closed its socket.
        logger.debug("sim discovery: send failed: %s", exc)


class DiscoveryResponder:
    """``add(endpoint)`` for each camera, ``await start()``; it answers until ``await stop()``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = DISCOVERY_PORT,
        multicast: bool = False,
        interface: str | None = None,
    ) -> None:
        """``interface``: the IPv4 address of the interface to join the group on (default: ``host``)."""
        self.host = host
        self.multicast = multicast
        self.interface = interface or (host if host not in ("", "0.0.0.0") else "0.0.0.0")
        self._requested_port = port
        self._endpoints: dict[str, Endpoint] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._recent: collections.deque[tuple[str, tuple[str, int]]]
        self._recent = collections.deque(maxlen=_RECENT_PROBES)
        self._instance_id = 0
        self._message_number = 0

    @property
    def port(self) -> int:
        if self._transport is None:
            raise RuntimeError("discovery responder is not started")
        return int(self._transport.get_extra_info("sockname")[1])

    @property
    def endpoints(self) -> list[Endpoint]:
        return list(self._endpoints.values())

    def add(self, endpoint: Endpoint) -> None:
        """Answer probes for ``endpoint`` from now on; announce it with Hello when multicasting."""
        self._endpoints[endpoint.address] = endpoint
        if self._transport is not None and self.multicast:
            self._announce(build_hello(Hello(new_message_id(), endpoint, self._next_sequence())))

    def remove(self, address: str) -> None:
        """Stop answering for the endpoint ``address``; say Bye when multicasting."""
        endpoint = self._endpoints.pop(address, None)
        if endpoint is not None and self._transport is not None and self.multicast:
            self._announce(build_bye(Bye(new_message_id(), endpoint, self._next_sequence())))

    async def start(self) -> None:
        if self._transport is not None:
            raise RuntimeError("discovery responder is already started")
        sock = self._socket()
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        self._transport = transport
        self._instance_id = int(time.time())
        self._message_number = 0
        mode = f"multicast on {self.interface}" if self.multicast else "unicast"
        logger.info("sim discovery %s:%s: answering probes (%s)", self.host, self.port, mode)
        if self.multicast:
            for endpoint in self._endpoints.values():
                self._announce(build_hello(Hello(new_message_id(), endpoint, self._next_sequence())))

    async def stop(self) -> None:
        """Say Bye for every device (when multicasting) and close the socket."""
        transport, self._transport = self._transport, None
        if transport is None:
            return
        if self.multicast:
            for endpoint in self._endpoints.values():
                message = build_bye(Bye(new_message_id(), endpoint, self._next_sequence()))
                transport.sendto(message, (MULTICAST_GROUP, DISCOVERY_PORT))
        transport.close()
        await asyncio.sleep(0)  # let the loop run the close callback

    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if not self.multicast:
                sock.bind((self.host, self._requested_port))
                return sock
            # Group traffic only reaches a socket bound to the wildcard (or group) address.
            sock.bind(("0.0.0.0", self._requested_port))
            interface = socket.inet_aton(self.interface)
            membership = socket.inet_aton(MULTICAST_GROUP) + interface
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, interface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        except OSError:
            sock.close()
            raise
        return sock

    def _next_sequence(self) -> AppSequence:
        self._message_number += 1
        return AppSequence(self._instance_id, self._message_number)

    def _announce(self, message: bytes) -> None:
        assert self._transport is not None
        self._transport.sendto(message, (MULTICAST_GROUP, DISCOVERY_PORT))

    def _received(self, data: bytes, sender: tuple[str, int]) -> None:
        try:
            message = parse_message(data)
        except ValueError as err:  # cameras drop what they cannot parse, without a reply
            logger.debug("sim discovery: ignoring a message from %s:%s: %s", *sender, err)
            return
        if not isinstance(message, Probe) or self._transport is None:
            return  # Hello, Bye and ProbeMatches of other devices on the group
        key = (message.message_id, sender)
        if key in self._recent:  # a repeated multicast probe, or our own looped-back copy
            return
        self._recent.append(key)
        for endpoint in self._endpoints.values():
            if matches_probe(message, endpoint):
                reply = ProbeMatches(new_message_id(), message.message_id, (endpoint,), self._next_sequence())
                self._transport.sendto(build_probe_matches(reply), sender)
