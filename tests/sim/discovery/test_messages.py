"""WS-Discovery messages: real-device payloads, our own output round-tripped, exact errors."""

from __future__ import annotations

import pytest

from adapters.onvif.wsdiscovery import (
    ACTION_PROBE_MATCHES,
    ANONYMOUS,
    DEVICE,
    DN,
    NVT,
    SOAP,
    WSA,
    WSD,
    AppSequence,
    Bye,
    Endpoint,
    Hello,
    Probe,
    ProbeMatches,
    build_bye,
    build_hello,
    build_probe,
    build_probe_matches,
    matches_probe,
    parse_message,
    parse_probe,
    parse_probe_matches,
)

PROBE_ID = "uuid:5a8b35d6-4f0c-4e1c-9a1d-0c7f3e2b1a90"

# A ProbeMatches shaped like a Hikvision camera's: every namespace on the envelope, the
# addressing prefix "wsadis", a RelatesTo without "urn:", two XAddrs (IPv4 and link-local IPv6),
# escaped spaces in the name scope, line breaks inside Scopes.
CAMERA_PROBE_MATCHES = f"""<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="{SOAP}" xmlns:soapenc="http://www.w3.org/2003/05/soap-encoding"
 xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"
 xmlns:dn="{DN}" xmlns:d="{WSD}" xmlns:wsadis="{WSA}" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<env:Header>
<wsadis:MessageID>urn:uuid:11f0c2de-7a3b-11b2-8e2c-c056e3a1b2c4</wsadis:MessageID>
<wsadis:RelatesTo>{PROBE_ID}</wsadis:RelatesTo>
<wsadis:To>{ANONYMOUS}</wsadis:To>
<wsadis:Action>{ACTION_PROBE_MATCHES}</wsadis:Action>
<d:AppSequence InstanceId="1700000123" MessageNumber="57"/>
</env:Header>
<env:Body>
<d:ProbeMatches>
<d:ProbeMatch>
<wsadis:EndpointReference>
<wsadis:Address>urn:uuid:544b8c00-1dd2-11b2-a105-c056e3a1b2c4</wsadis:Address>
</wsadis:EndpointReference>
<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>
<d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming
 onvif://www.onvif.org/MAC/c0:56:e3:a1:b2:c4 onvif://www.onvif.org/hardware/DS-2CD2143G0-I
 onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G0-I onvif://www.onvif.org/location/city/hangzhou</d:Scopes>
<d:XAddrs>http://192.0.2.64/onvif/device_service http://[fe80::c256:e3ff:fea1:b2c4]/onvif/device_service</d:XAddrs>
<d:MetadataVersion>10</d:MetadataVersion>
</d:ProbeMatch>
</d:ProbeMatches>
</env:Body>
</env:Envelope>
""".encode()

# The Probe onvif-util (Debian onvif-tools 1.4.4) sends, captured on the wire.
ONVIF_UTIL_PROBE = (
    b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><SOAP-ENV:Header>'
    b'<a:Action SOAP-ENV:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>'
    b"<a:MessageID>urn:uuid:b36dd820-5c57-8a46-1d58-8e9df760f0c4</a:MessageID><a:ReplyTo><a:Address>"
    b"http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"
    b'<a:To SOAP-ENV:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>'
    b'</SOAP-ENV:Header><SOAP-ENV:Body><p:Probe xmlns:p="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
    b'<d:Types xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
    b'xmlns:dp0="http://www.onvif.org/ver10/network/wsdl">dp0:NetworkVideoTransmitter</d:Types>'
    b"</p:Probe></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)

CAMERA = Endpoint(
    address="urn:uuid:0b9f1c3e-2d4a-5b6c-8d7e-9f0a1b2c3d4e",
    types=(NVT, DEVICE),
    scopes=("onvif://www.onvif.org/name/cam1", "onvif://www.onvif.org/hardware/SimCam"),
    xaddrs=("http://127.0.0.1:8000/onvif/device_service",),
    metadata_version=3,
)


def _envelope(header: str, body: str = "") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:d="{WSD}">'
        f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def _matches_header(relates_to: str = PROBE_ID) -> str:
    return (
        f"<a:MessageID>urn:uuid:1</a:MessageID><a:Action>{ACTION_PROBE_MATCHES}</a:Action>"
        f"<a:RelatesTo>{relates_to}</a:RelatesTo>"
    )


def test_parses_a_camera_probe_matches() -> None:
    reply = parse_probe_matches(CAMERA_PROBE_MATCHES, relates_to=PROBE_ID)

    assert reply.message_id == "urn:uuid:11f0c2de-7a3b-11b2-8e2c-c056e3a1b2c4"
    assert reply.relates_to == PROBE_ID
    assert reply.sequence == AppSequence(1700000123, 57)
    (match,) = reply.matches
    assert match.address == "urn:uuid:544b8c00-1dd2-11b2-a105-c056e3a1b2c4"
    assert match.types == (NVT, DEVICE)
    assert match.xaddrs == (
        "http://192.0.2.64/onvif/device_service",
        "http://[fe80::c256:e3ff:fea1:b2c4]/onvif/device_service",
    )
    assert len(match.scopes) == 6
    assert "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G0-I" in match.scopes
    assert match.metadata_version == 10


def test_parses_the_onvif_util_probe() -> None:
    probe = parse_probe(ONVIF_UTIL_PROBE)

    assert probe == Probe("urn:uuid:b36dd820-5c57-8a46-1d58-8e9df760f0c4", (NVT,), (), ANONYMOUS)


def test_types_with_an_undeclared_well_known_prefix_are_accepted() -> None:
    # Some cameras write "dn:" and "tds:" in Types without declaring either prefix.
    body = (
        "<d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:2</a:Address>"
        "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
        "</d:ProbeMatch></d:ProbeMatches>"
    )
    reply = parse_probe_matches(_envelope(_matches_header(), body))

    assert reply.matches == (Endpoint("urn:uuid:2", (NVT, DEVICE), (), (), 1),)


def test_probe_round_trip() -> None:
    probe = Probe("urn:uuid:3", (NVT, "{urn:example:types}Recorder"), ("onvif://www.onvif.org/location/",))

    assert parse_probe(build_probe(probe)) == probe


def test_probe_matches_round_trip_relates_to_the_probe() -> None:
    probe = Probe("urn:uuid:4", (NVT,))
    reply = ProbeMatches("urn:uuid:5", probe.message_id, (CAMERA,), AppSequence(7, 1))

    data = build_probe_matches(reply)

    assert parse_probe_matches(data, relates_to=probe.message_id) == reply
    assert b"dn:NetworkVideoTransmitter tds:Device" in data


def test_hello_and_bye_round_trip() -> None:
    hello = Hello("urn:uuid:6", CAMERA, AppSequence(7, 2))
    bye = Bye("urn:uuid:7", CAMERA, AppSequence(7, 3))

    assert parse_message(build_hello(hello)) == hello
    # A Bye names only the endpoint.
    assert parse_message(build_bye(bye)) == Bye("urn:uuid:7", Endpoint(CAMERA.address, ()), AppSequence(7, 3))


def test_a_reply_to_another_probe_is_refused() -> None:
    data = build_probe_matches(ProbeMatches("urn:uuid:8", "urn:uuid:other", (CAMERA,)))

    with pytest.raises(ValueError) as caught:
        parse_probe_matches(data, relates_to="urn:uuid:mine")

    assert str(caught.value) == "ProbeMatches relates to 'urn:uuid:other', not to the probe 'urn:uuid:mine'"


def test_a_probe_is_not_probe_matches() -> None:
    with pytest.raises(ValueError) as caught:
        parse_probe_matches(ONVIF_UTIL_PROBE)

    assert str(caught.value) == "expected a ProbeMatches, got Probe"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<x/>", "not a SOAP 1.2 envelope: root element is 'x'"),
        (f'<s:Envelope xmlns:s="{SOAP}"/>'.encode(), "SOAP envelope has no Header"),
        (f'<s:Envelope xmlns:s="{SOAP}"><s:Header/></s:Envelope>'.encode(), "SOAP envelope has no Body"),
        (_envelope("<a:MessageID>urn:uuid:1</a:MessageID>"), "missing wsa:Action header"),
        (_envelope(f"<a:Action>{WSD}/Probe</a:Action>"), "missing wsa:MessageID header"),
        (
            _envelope(f"<a:MessageID>m</a:MessageID><a:Action>{WSD}/Resolve</a:Action>"),
            f"unsupported WS-Discovery action '{WSD}/Resolve'",
        ),
        (
            _envelope(f"<a:MessageID>m</a:MessageID><a:Action>{WSD}/Probe</a:Action>"),
            "Probe body has no d:Probe element",
        ),
        (
            _envelope(f"<a:MessageID>m</a:MessageID><a:Action>{ACTION_PROBE_MATCHES}</a:Action>"),
            "ProbeMatches has no wsa:RelatesTo header",
        ),
        (_envelope(_matches_header()), "ProbeMatches body has no d:ProbeMatches element"),
        (
            _envelope(_matches_header(), "<d:ProbeMatches><d:ProbeMatch/></d:ProbeMatches>"),
            "ProbeMatch has no EndpointReference/Address",
        ),
        (
            _envelope(
                _matches_header(),
                "<d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:9</a:Address>"
                "</a:EndpointReference><d:MetadataVersion>v2</d:MetadataVersion></d:ProbeMatch>"
                "</d:ProbeMatches>",
            ),
            "ProbeMatch MetadataVersion 'v2' is not an unsigned integer",
        ),
        (
            _envelope(
                f"<a:MessageID>m</a:MessageID><a:Action>{WSD}/Probe</a:Action>",
                "<d:Probe><d:Types>acme:Camera</d:Types></d:Probe>",
            ),
            "type 'acme:Camera' uses the undeclared prefix 'acme'",
        ),
        (
            _envelope(
                f"<a:MessageID>m</a:MessageID><a:Action>{WSD}/Probe</a:Action>",
                "<d:Probe><d:Types>Camera</d:Types></d:Probe>",
            ),
            "type 'Camera' has no namespace",
        ),
        (
            _envelope(
                f'{_matches_header()}<d:AppSequence InstanceId="-1" MessageNumber="1"/>',
                "<d:ProbeMatches/>",
            ),
            "AppSequence InstanceId and MessageNumber must be unsigned integers",
        ),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "message must not contain a DOCTYPE"),
        (b" " * 70_000, "message of 70000 bytes is larger than 65507"),
    ],
)
def test_malformed_messages_are_refused_with_exact_messages(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_message(data)

    assert str(caught.value) == message


def test_text_that_is_not_xml_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^not XML: Start tag expected"):
        parse_message(b"hello")


def test_a_type_not_in_clark_notation_cannot_be_built() -> None:
    with pytest.raises(ValueError) as caught:
        build_probe(Probe("urn:uuid:10", ("dn:NetworkVideoTransmitter",)))

    assert str(caught.value) == "type 'dn:NetworkVideoTransmitter' is not in {namespace}local form"


@pytest.mark.parametrize(
    ("types", "scopes", "expected"),
    [
        ((), (), True),  # an empty probe matches every device
        ((NVT,), (), True),
        ((NVT, DEVICE), (), True),
        (("{urn:example:types}Recorder",), (), False),
        ((), ("onvif://www.onvif.org/name",), True),
        ((), ("onvif://www.onvif.org/name/cam1/",), True),
        ((), ("onvif://www.onvif.org/name/cam",), False),  # whole segments only
    ],
)
def test_probe_matching_by_types_and_scopes(
    types: tuple[str, ...], scopes: tuple[str, ...], expected: bool
) -> None:
    assert matches_probe(Probe("urn:uuid:11", types, scopes), CAMERA) is expected
