"""The responder answered by unicast on 127.0.0.1, and the hub's prober: dedup, limits, pacing."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest

from adapters.onvif.discovery import DiscoveredDevice, expand_cidr, interface_address, probe
from adapters.onvif.wsdiscovery import (
    DEVICE,
    NVT,
    Endpoint,
    Probe,
    build_probe,
    new_message_id,
    parse_probe_matches,
)
from adapters.sim.discovery.responder import DiscoveryResponder

CAMERAS = [
    Endpoint(
        address=f"urn:uuid:00000000-0000-4000-8000-00000000000{i}",
        types=(NVT, DEVICE),
        scopes=(f"onvif://www.onvif.org/name/cam{i}",),
        xaddrs=(f"http://127.0.0.1:{8000 + i}/onvif/device_service",),
    )
    for i in range(1, 4)
]


@pytest.fixture
async def responder() -> AsyncIterator[DiscoveryResponder]:
    server = DiscoveryResponder(host="127.0.0.1", port=0)
    for camera in CAMERAS:
        server.add(camera)
    await server.start()
    yield server
    await server.stop()


async def test_a_unicast_probe_finds_every_camera(responder: DiscoveryResponder) -> None:
    found = await probe(targets=[("127.0.0.1", responder.port)], timeout_s=0.3)

    assert found == [
        DiscoveredDevice(camera.address, camera.xaddrs, camera.scopes, (NVT, DEVICE), "127.0.0.1")
        for camera in CAMERAS
    ]


async def test_each_camera_answers_with_its_own_probe_matches(responder: DiscoveryResponder) -> None:
    message_id = new_message_id()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2.0)
        sock.sendto(build_probe(Probe(message_id, (NVT,))), ("127.0.0.1", responder.port))
        replies = [await asyncio.to_thread(sock.recv, 65535) for _ in CAMERAS]

    parsed = [parse_probe_matches(reply, relates_to=message_id) for reply in replies]
    assert [len(reply.matches) for reply in parsed] == [1, 1, 1]
    assert {reply.matches[0].address for reply in parsed} == {camera.address for camera in CAMERAS}
    assert len({reply.message_id for reply in parsed}) == 3
    assert [reply.sequence.message_number for reply in parsed if reply.sequence] == [1, 2, 3]


async def test_probes_are_filtered_by_type(responder: DiscoveryResponder) -> None:
    target = [("127.0.0.1", responder.port)]

    assert await probe(targets=target, timeout_s=0.2, types=("{urn:example:types}Recorder",)) == []
    assert len(await probe(targets=target, timeout_s=0.2, types=())) == 3
    assert len(await probe(targets=target, timeout_s=0.2, types=(DEVICE,))) == 3


async def test_garbage_is_ignored_and_removed_cameras_stop_answering(responder: DiscoveryResponder) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00not a probe", ("127.0.0.1", responder.port))
    responder.remove(CAMERAS[0].address)

    found = await probe(targets=[("127.0.0.1", responder.port)], timeout_s=0.3)

    assert [device.endpoint for device in found] == [camera.address for camera in CAMERAS[1:]]


async def test_devices_are_deduplicated_and_capped(responder: DiscoveryResponder) -> None:
    twice = [("127.0.0.1", responder.port)] * 2

    assert len(await probe(targets=twice, timeout_s=0.3)) == 3
    started = time.monotonic()
    capped = await probe(targets=twice, timeout_s=5.0, max_devices=2)
    assert len(capped) == 2
    assert time.monotonic() - started < 2.0  # returns as soon as max_devices answered


async def test_unicast_probes_are_paced() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        targets = [("127.0.0.1", sink.getsockname()[1])] * 40
        started = time.monotonic()
        found = await probe(targets=targets, timeout_s=0.05, rate_per_s=200.0)
        elapsed = time.monotonic() - started
        received = 0
        sink.setblocking(False)
        while True:
            try:
                sink.recv(65535)
            except BlockingIOError:
                break
            received += 1

    assert found == []
    assert received == 40
    assert elapsed >= 40 / 200.0


async def test_probe_arguments_are_checked() -> None:
    with pytest.raises(ValueError) as no_target:
        await probe()
    with pytest.raises(ValueError) as hostname:
        await probe(targets=[("camera.local", 3702)])
    with pytest.raises(ValueError) as interface:
        await probe(multicast_interface="nosuchif0")

    assert str(no_target.value) == "probe needs targets, a multicast interface, or both"
    assert str(hostname.value) == "probe target 'camera.local' is not an IPv4 address"
    assert str(interface.value) == "network interface 'nosuchif0': No such device"


def test_interface_address_by_name_or_address() -> None:
    assert interface_address("lo") == "127.0.0.1"
    assert interface_address("192.0.2.7") == "192.0.2.7"


def test_expand_cidr() -> None:
    assert expand_cidr("192.0.2.0/30") == [("192.0.2.1", 3702), ("192.0.2.2", 3702)]
    assert expand_cidr("192.0.2.9/32", port=8702) == [("192.0.2.9", 8702)]
    assert len(expand_cidr("10.0.0.0/20")) == 4094


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.0.0/16", "10.0.0.0/16 has 65534 hosts, more than the limit of 4096"),
        ("10.0.0.300/24", "'10.0.0.300/24' is not a network in CIDR notation"),
        ("2001:db8::/120", "2001:db8::/120: only IPv4 networks can be probed"),
    ],
)
def test_expand_cidr_refuses(cidr: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        expand_cidr(cidr)

    assert str(caught.value) == message
