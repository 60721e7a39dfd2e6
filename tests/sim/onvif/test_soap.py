"""The pure SOAP 1.2 envelope parser/builder and fault XML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs

from adapters.sim.onvif.soap import (
    NS,
    SoapFault,
    build_envelope,
    build_fault,
    corrupt_reply,
    el,
    format_datetime,
    parse_datetime,
    parse_duration,
    parse_envelope,
    text,
)

# A GetProfiles request as onvif-zeep-async sends it (UsernameToken trimmed).
ZEEP_REQUEST = b"""<?xml version='1.0' encoding='utf-8'?>
<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope">
  <soap-env:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"/></soap-env:Header>
  <soap-env:Body>
    <ns0:GetProfiles xmlns:ns0="http://www.onvif.org/ver10/media/wsdl"/><ns0:Ignored xmlns:ns0="urn:x"/>
  </soap-env:Body>
</soap-env:Envelope>"""


def test_parse_envelope_takes_the_first_body_element() -> None:
    request = parse_envelope(ZEEP_REQUEST)
    assert request.name == "{http://www.onvif.org/ver10/media/wsdl}GetProfiles"
    assert request.header is not None
    assert etree.QName(request.header[0]).localname == "Security"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"  ", "empty SOAP request"),
        (
            b'<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body/></Envelope>',
            "root element {http://schemas.xmlsoap.org/soap/envelope/}Envelope is not a SOAP 1.2 Envelope",
        ),
        (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"/>', "SOAP Envelope has no Body"),
        (
            b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope">'
            b"<e:Body><!-- c --></e:Body></e:Envelope>",
            "SOAP Body is empty",
        ),
    ],
)
def test_parse_envelope_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_envelope(data)
    assert str(info.value) == message


def test_parse_envelope_malformed_xml() -> None:
    with pytest.raises(ValueError, match=r"^malformed XML: ") as info:
        parse_envelope(b"<e:Envelope xmlns:e='http://www.w3.org/2003/05/soap-envelope'><e:Body>")
    assert "line 1" in str(info.value)


def test_build_envelope_declares_prefixes_once() -> None:
    xml = build_envelope(
        el("tds:GetHostnameResponse", el("tds:HostnameInformation", text("tt:FromDHCP", False)))
    )
    root = etree.fromstring(xml)
    assert root.nsmap == NS
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<env:Envelope ")
    assert (
        b"<env:Body><tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>" in xml
    )


def test_fault_xml_has_code_nested_subcodes_and_reason() -> None:
    xml = build_fault(SoapFault("Sender", ("ter:InvalidArgVal", "ter:NoProfile"), "no profile 'x'"))
    body = xml.split(b"<env:Body>")[1]
    assert body == (
        b"<env:Fault><env:Code><env:Value>env:Sender</env:Value>"
        b"<env:Subcode><env:Value>ter:InvalidArgVal</env:Value>"
        b"<env:Subcode><env:Value>ter:NoProfile</env:Value></env:Subcode></env:Subcode></env:Code>"
        b"<env:Reason><env:Text xml:lang=\"en\">no profile 'x'</env:Text></env:Reason></env:Fault>"
        b"</env:Body></env:Envelope>"
    )


def test_not_authorized_fault_is_http_400_and_receiver_500() -> None:
    assert SoapFault("Sender", ("ter:NotAuthorized",), "no").http_status == 400
    assert SoapFault("Receiver", ("ter:ActionNotSupported",), "no").http_status == 500
    with pytest.raises(ValueError) as info:
        SoapFault("Client", (), "SOAP 1.1 name")
    assert str(info.value) == "SOAP fault code 'Client' is not Sender or Receiver"
    with pytest.raises(ValueError) as info:
        build_fault(SoapFault("Sender", ("nope:Thing",), "x"))
    assert str(info.value) == "unknown namespace prefix 'nope'"


def test_corrupt_reply_is_unparseable_even_for_a_recovering_parser() -> None:
    reply = build_envelope(el("tds:SystemRebootResponse", text("tds:Message", "bye")))
    broken = corrupt_reply(reply)
    parser = etree.XMLParser(recover=True)  # what zeep uses
    assert etree.fromstring(reply[: len(reply) // 2], parser=parser) is not None  # truncation alone: "fine"
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(broken, parser=parser)


@pytest.mark.parametrize(
    ("raw", "seconds"), [("PT1S", 1.0), ("PT0.5S", 0.5), ("PT1M30S", 90.0), ("P1DT1H", 90000.0)]
)
def test_parse_duration(raw: str, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["P1Y", "PT", "1S", "PTS"])
def test_parse_duration_refuses(raw: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(raw)
    assert str(info.value) == f"{raw!r} is not an xs:duration of days, hours, minutes and seconds"


def test_datetimes_round_trip_in_utc() -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert format_datetime(moment) == "2024-05-06T07:08:09.123Z"
    assert parse_datetime("2024-05-06T09:08:09+02:00") == moment.replace(microsecond=0)
    assert parse_datetime("2024-05-06T07:08:09") == moment.replace(microsecond=0)
    with pytest.raises(ValueError) as info:
        parse_datetime("yesterday")
    assert str(info.value) == "'yesterday' is not an xs:dateTime"
