"""Find ONVIF cameras with WS-Discovery: multicast on one interface, unicast to listed hosts, or both.

:func:`probe` sends Probes for ``dn:NetworkVideoTransmitter`` from one UDP socket, collects the
ProbeMatches that answer them (by RelatesTo) until ``timeout_s`` after the last probe went out,
and returns one :class:`DiscoveredDevice` per endpoint. Unicast probes are paced (``rate_per_s``)
so a /20 sweep does not flood the network or the cameras' tiny UDP buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import logging
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.onvif.wsdiscovery import (
    NVT,
    Probe,
    ProbeMatches,
    build_probe,
    new_message_id,
    parse_message,
)

logger = logging.getLogger(__name__)

MULTICAST_GROUP = ("239.255.255.250", 3702)
MULTICAST_REPEAT = 2  # WS-Discovery repeats multicast UDP once (MULTICAST_UDP_REPEAT = 1)
MULTICAST_REPEAT_GAP_S = 0.1
_SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address

# What looking up a network interface raises: ENODEV for an unknown name, EADDRNOTAVAIL when it
# has no IPv4 address.
INTERFACE_ERRORS = (OSError,)


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    endpoint: str  # EndpointReference address, ``urn:uuid:…``: the camera's stable identity
    xaddrs: tuple[str, ...]  # device service URLs
    scopes: tuple[str, ...]
    types: tuple[str, ...]  # ``{namespace}local`` names
    address: str  # the IPv4 address the reply came from


def expand_cidr(cidr: str, port: int = 3702, *, max_hosts: int = 4096) -> list[tuple[str, int]]:
    """Every host address of an IPv4 network as a probe target, refusing networks over ``max_hosts``."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ValueError(f"{cidr!r} is not a network in CIDR notation") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ValueError(f"{cidr}: only IPv4 networks can be probed")
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    count = network.num_addresses if network.prefixlen >= 31 else network.num_addresses - 2
    if count > max_hosts:
        raise ValueError(f"{network} has {count} hosts, more than the limit of {max_hosts}")
    return [(str(host), port) for host in network.hosts()]


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, max_devices: int) -> None:
        self.message_ids: set[str] = set()
        self.found: dict[str, DiscoveredDevice] = {}
        self.full = asyncio.Event()
        self._max = max_devices

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        sender = str(addr[0])
        try:
            reply = parse_message(data)
        except ValueError as err:
            logger.debug("discovery %s: ignoring a reply: %s", sender, err)
            return
        if not isinstance(reply, ProbeMatches) or reply.relates_to not in self.message_ids:
            return
        for match in reply.matches:
            if len(self.found) >= self._max:
                break
            self.found.setdefault(
                match.address,
                DiscoveredDevice(match.address, match.xaddrs, match.scopes, match.types, sender),
            )
        if len(self.found) >= self._max:
            self.full.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP "port unreachable" or "host unreachable" from a target without a camera: expected.
        logger.debug("discovery: %s", exc)


def interface_address(interface: str) -> str:
    """The IPv4 address of ``interface``, given as a name (``eth0``) or already as an address."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.IPv4Address(interface))
    name = interface.encode()
    if not name or len(name) > 15:
        raise ValueError(f"{interface!r} is neither an IPv4 address nor a network interface name")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name))
        except INTERFACE_ERRORS as err:
            raise ValueError(f"network interface {interface!r}: {err.strerror or err}") from None
    return socket.inet_ntoa(packed[20:24])


def _check_targets(targets: Sequence[tuple[str, int]]) -> None:
    for host, port in targets:
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"probe target {host!r} is not an IPv4 address") from None
        if not 0 < port < 65536:
            raise ValueError(f"probe target {host}:{port}: port out of range")


def _socket(multicast_address: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setblocking(False)
        if multicast_address is None:
            sock.bind(("0.0.0.0", 0))
            return sock
        # Bound to the interface's address so that replies come back to it, even on a loopback
        # interface whose host-scoped address the kernel would not pick as a multicast source.
        sock.bind((multicast_address, 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(multicast_address))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)  # cameras simulated here
    except OSError:
        sock.close()
        raise
    return sock


async def _send(
    transport: asyncio.DatagramTransport,
    collector: _Collector,
    *,
    targets: Sequence[tuple[str, int]],
    multicast: bool,
    types: tuple[str, ...],
    rate_per_s: float,
) -> None:
    loop = asyncio.get_running_loop()
    if multicast:
        probe_message = Probe(new_message_id(), types)
        collector.message_ids.add(probe_message.message_id)
        data = build_probe(probe_message)
        for attempt in range(MULTICAST_REPEAT):  # the repeat keeps its MessageID, as specified
            if attempt:
                await asyncio.sleep(MULTICAST_REPEAT_GAP_S)
            transport.sendto(data, MULTICAST_GROUP)
    start = loop.time()
    for index, target in enumerate(targets):
        if collector.full.is_set():
            return
        probe_message = Probe(new_message_id(), types)
        collector.message_ids.add(probe_message.message_id)
        transport.sendto(build_probe(probe_message), target)  # errors go to error_received
        delay = start + (index + 1) / rate_per_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)


async def probe(
    *,
    targets: Sequence[tuple[str, int]] | None = None,
    multicast_interface: str | None = None,
    timeout_s: float = 3.0,
    max_devices: int = 1024,
    types: tuple[str, ...] = (NVT,),
    rate_per_s: float = 200.0,
) -> list[DiscoveredDevice]:
    """Probe, then wait ``timeout_s`` after the last probe; devices in the order they answered.

    ``targets`` are ``(ipv4, port)`` pairs probed by unicast (see :func:`expand_cidr`);
    ``multicast_interface`` (a name or an address) sends one multicast probe on that interface.
    The whole call lasts at most ``len(targets) / rate_per_s + timeout_s`` seconds (plus the
    multicast repeat), less when ``max_devices`` answered.
    """
    if targets is None and multicast_interface is None:
        raise ValueError("probe needs targets, a multicast interface, or both")
    if timeout_s <= 0 or rate_per_s <= 0 or max_devices < 1:
        raise ValueError("timeout_s and rate_per_s must be positive and max_devices at least 1")
    targets = list(targets or [])
    _check_targets(targets)
    address = None if multicast_interface is None else interface_address(multicast_interface)
    loop = asyncio.get_running_loop()
    collector = _Collector(max_devices)
    sock = _socket(address)
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: collector, sock=sock)
    except BaseException:
        sock.close()
        raise
    sender = loop.create_task(
        _send(
            transport,
            collector,
            targets=targets,
            multicast=address is not None,
            types=types,
            rate_per_s=rate_per_s,
        ),
        name="onvif-discovery-send",
    )
    try:
        await sender
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collector.full.wait(), timeout_s)
    finally:
        sender.cancel()
        transport.close()
    found, sent = len(collector.found), len(collector.message_ids)
    logger.info("discovery: %d device(s) answered %d probe(s)", found, sent)
    return list(collector.found.values())
