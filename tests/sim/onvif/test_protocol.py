"""The device's SOAP over HTTP, byte for byte: dispatch, faults, headers, options."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs
from zeep.wsse.username import UsernameToken

from adapters.sim.faults import CameraFaults
from adapters.sim.onvif import DeviceIdentity, OnvifDevice, SimProfile

ENV = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"


async def _snapshot() -> bytes:
    return b"\xff\xd8\xff\xd9"


def _device(*, has_ptz: bool = True, reject_replayed_nonces: bool = False) -> OnvifDevice:
    return OnvifDevice(
        identity=DeviceIdentity(serial_number="SIM0002", hostname="cam2"),
        profiles=[SimProfile("main", "Main", 640, 360, 10.0, 1000, "rtsp://127.0.0.1:8554/cam2")],
        username="admin",
        password="pw",
        faults=CameraFaults(),
        snapshot=_snapshot,
        has_ptz=has_ptz,
        reject_replayed_nonces=reject_replayed_nonces,
    )


@pytest.fixture
async def device() -> AsyncIterator[OnvifDevice]:
    device = _device(has_ptz=False, reject_replayed_nonces=True)
    await device.start()
    yield device
    await device.stop()


def _envelope(operation: str, *, nonce: str | None = None, password: str = "pw") -> bytes:
    root = etree.fromstring(
        f'<e:Envelope xmlns:e="{ENV}" xmlns:tds="{TDS}"><e:Header/><e:Body>{operation}</e:Body></e:Envelope>'
    )
    if nonce is not None:
        token = UsernameToken(  # type: ignore[no-untyped-call]  # zeep is partly typed
            "admin", password, use_digest=True, nonce=nonce, zulu_timestamp=True
        )
        token.created = datetime.now(UTC).replace(tzinfo=None)
        token.apply(root, {})  # type: ignore[no-untyped-call]
    return bytes(etree.tostring(root))


async def _post(
    device: OnvifDevice, body: bytes, content_type: str = "application/soap+xml"
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(device.device_service_url, data=body, headers={"Content-Type": content_type}) as reply,
    ):
        return reply.status, dict(reply.headers), await reply.read()


def _fault(body: bytes) -> tuple[str, list[str]]:
    root = etree.fromstring(body)
    code = root.findtext(f".//{{{ENV}}}Code/{{{ENV}}}Value")
    return code, [v.text for v in root.iterfind(f".//{{{ENV}}}Subcode/{{{ENV}}}Value")]


async def test_dispatch_on_the_body_qname_not_the_soap_action(device: OnvifDevice) -> None:
    body = _envelope("<tds:GetSystemDateAndTime/>")
    status, headers, reply = await _post(device, body, 'text/xml; charset=utf-8; action="urn:whatever"')
    assert status == 200
    assert headers["Content-Type"] == "application/soap+xml; charset=utf-8"
    assert headers["Content-Length"] == str(len(reply))
    assert b"<tds:GetSystemDateAndTimeResponse>" in reply


async def test_unknown_operation_is_action_not_supported(device: OnvifDevice) -> None:
    status, _, reply = await _post(
        device, _envelope("<tds:SetHostname><tds:Name>x</tds:Name></tds:SetHostname>")
    )
    assert (status, _fault(reply)) == (500, ("env:Receiver", ["ter:ActionNotSupported"]))
    status, _, reply = await _post(
        device, _envelope('<GetProfiles xmlns="http://www.onvif.org/ver20/ptz/wsdl"/>')
    )
    assert (status, _fault(reply)) == (500, ("env:Receiver", ["ter:ActionNotSupported"]))  # has_ptz=False


async def test_malformed_request_is_a_sender_fault_and_the_device_keeps_serving(device: OnvifDevice) -> None:
    status, _, reply = await _post(device, b"<e:Envelope xmlns:e='x'><unclosed>")
    assert (status, _fault(reply)) == (400, ("env:Sender", ["ter:WellFormed"]))
    status, _, reply = await _post(device, _envelope("<tds:GetSystemDateAndTime/>"), "image/png")
    assert (status, _fault(reply)) == (400, ("env:Sender", ["ter:InvalidArgVal"]))
    status, _, _ = await _post(device, _envelope("<tds:GetSystemDateAndTime/>"))
    assert status == 200


async def test_credentials_and_replayed_nonces(device: OnvifDevice) -> None:
    status, _, reply = await _post(device, _envelope("<tds:GetDeviceInformation/>"))
    assert (status, _fault(reply)) == (400, ("env:Sender", ["ter:NotAuthorized"]))
    assert b"no UsernameToken in the request" in reply
    status, _, reply = await _post(device, _envelope("<tds:GetDeviceInformation/>", nonce="nonce-1"))
    assert status == 200 and b"<tds:SerialNumber>SIM0002</tds:SerialNumber>" in reply
    status, _, reply = await _post(device, _envelope("<tds:GetDeviceInformation/>", nonce="nonce-1"))
    assert (status, _fault(reply)) == (400, ("env:Sender", ["ter:NotAuthorized"]))
    assert b"nonce was already used" in reply


async def test_repeated_nonces_are_accepted_by_default() -> None:
    device = _device()
    await device.start()
    try:
        for _ in range(2):
            status, _, _ = await _post(device, _envelope("<tds:GetHostname/>", nonce="same"))
            assert status == 200
    finally:
        await device.stop()


async def test_stop_ends_a_waiting_long_poll(device: OnvifDevice) -> None:
    """A pull waiting on its Timeout does not hold up stop()."""
    status, _, reply = await _post(
        device,
        _envelope(
            "<tev:CreatePullPointSubscription xmlns:tev='http://www.onvif.org/ver10/events/wsdl'/>", nonce="a"
        ),
    )
    assert status == 200
    address = etree.fromstring(reply).findtext(".//{http://www.w3.org/2005/08/addressing}Address")

    def pull(timeout: str, nonce: str) -> bytes:
        return _envelope(
            "<tev:PullMessages xmlns:tev='http://www.onvif.org/ver10/events/wsdl'>"
            f"<tev:Timeout>{timeout}</tev:Timeout><tev:MessageLimit>10</tev:MessageLimit></tev:PullMessages>",
            nonce=nonce,
        )

    soap = {"Content-Type": "application/soap+xml"}
    async with aiohttp.ClientSession() as session:
        async with session.post(address, data=pull("PT1S", "b"), headers=soap) as first:
            assert first.status == 200 and (await first.read()).count(b"NotificationMessage>") == 2
        waiting = asyncio.create_task(session.post(address, data=pull("PT30S", "c"), headers=soap))
        await asyncio.sleep(0.2)
        await asyncio.wait_for(device.stop(), 3)
        late = await waiting
        assert _fault(await late.read()) == ("env:Sender", ["wsrf-r:ResourceUnknownFault"])
