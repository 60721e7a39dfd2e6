"""SOAP 1.2 envelopes for the simulated ONVIF device: pure parse and build functions, and faults.

Everything here works on bytes and lxml elements; nothing touches the network. Parse errors are
``ValueError`` with an exact message; :class:`SoapFault` is what a service raises to answer with
a SOAP 1.2 Fault (Code, nested Subcodes, Reason).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs

Element: TypeAlias = Any  # an lxml.etree._Element (untyped)

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = {
    "env": SOAP12,
    "ter": "http://www.onvif.org/ver10/error",
    "xs": "http://www.w3.org/2001/XMLSchema",
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wstop": "http://docs.oasis-open.org/wsn/t-1",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "wsrf-r": "http://docs.oasis-open.org/wsrf/r-2",
    "tns1": "http://www.onvif.org/ver10/topics",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)
_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


class SoapFault(Exception):
    """Answer the request with a SOAP 1.2 Fault: ``code`` is ``Sender`` or ``Receiver``.

    ``subcodes`` are prefixed QNames (``ter:NotAuthorized``), outermost first; their prefixes must
    be in :data:`NS`. Sender faults go out as HTTP 400, Receiver faults as HTTP 500.
    """

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str) -> None:
        if code not in ("Sender", "Receiver"):
            raise ValueError(f"SOAP fault code {code!r} is not Sender or Receiver")
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason

    @property
    def http_status(self) -> int:
        return 400 if self.code == "Sender" else 500


def qname(prefixed: str) -> str:
    """``"tt:Name"`` → ``"{http://www.onvif.org/ver10/schema}Name"``."""
    prefix, sep, local = prefixed.partition(":")
    if not sep:
        raise ValueError(f"name {prefixed!r} has no prefix")
    try:
        return f"{{{NS[prefix]}}}{local}"
    except KeyError:
        raise ValueError(f"unknown namespace prefix {prefix!r}") from None


def el(tag: str, *children: Element | str | None, **attrs: str) -> Element:
    """Build ``<tag attrs>children</tag>``; a str child is the text, None children are skipped."""
    node = etree.Element(qname(tag))
    for key, value in attrs.items():
        node.set(key, value)
    for child in children:
        if child is None:
            continue
        if isinstance(child, str):
            node.text = child
        else:
            node.append(child)
    return node


def text(tag: str, value: object) -> Element:
    """A leaf element; booleans are written ``true``/``false``."""
    if isinstance(value, bool):
        return el(tag, "true" if value else "false")
    return el(tag, str(value))


@dataclass(frozen=True)
class SoapRequest:
    header: Element | None
    operation: Element  # the first element of the Body

    @property
    def name(self) -> str:
        """The Clark name of the operation element, ``{namespace}Local``."""
        return str(self.operation.tag)


def parse_envelope(data: bytes) -> SoapRequest:
    """Parse a SOAP 1.2 request; the operation is the QName of the Body's first element."""
    if not data.strip():
        raise ValueError("empty SOAP request")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as err:
        raise ValueError(f"malformed XML: {err}") from None
    if root.tag != f"{{{SOAP12}}}Envelope":
        raise ValueError(f"root element {root.tag} is not a SOAP 1.2 Envelope")
    body = root.find(f"{{{SOAP12}}}Body")
    if body is None:
        raise ValueError("SOAP Envelope has no Body")
    operations = [child for child in body if isinstance(child.tag, str)]
    if not operations:
        raise ValueError("SOAP Body is empty")
    return SoapRequest(header=root.find(f"{{{SOAP12}}}Header"), operation=operations[0])


def build_envelope(*body: Element, header: tuple[Element, ...] = ()) -> bytes:
    """Serialize a SOAP 1.2 envelope declaring every prefix of :data:`NS` at the top."""
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap=NS)
    if header:
        head = etree.SubElement(envelope, f"{{{SOAP12}}}Header")
        head.extend(header)
    etree.SubElement(envelope, f"{{{SOAP12}}}Body").extend(body)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def build_fault(fault: SoapFault) -> bytes:
    """``env:Fault`` with Code/Value ``env:<code>``, nested Subcodes, and an English Reason."""
    code = el("env:Code", el("env:Value", f"env:{fault.code}"))
    parent = code
    for subcode in fault.subcodes:
        qname(subcode)  # rejects unknown prefixes before they reach the wire
        node = el("env:Subcode", el("env:Value", subcode))
        parent.append(node)
        parent = node
    reason = el("env:Text", fault.reason)
    reason.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    return build_envelope(el("env:Fault", code, el("env:Reason", reason)))


def corrupt_reply(reply: bytes) -> bytes:
    """A broken reply for the ``malformed_soap`` fault: a NUL byte, then the first half of ``reply``.

    zeep parses replies with lxml's recovering parser, which turns a merely truncated envelope
    into a partial tree (and the client into a TypeError deep inside zeep); the leading NUL makes
    the document unparseable, so the client reports invalid XML, as it would for line noise.
    """
    return b"\x00" + reply[: len(reply) // 2]


# --- reading request values -------------------------------------------------------------


def child(node: Element, tag: str) -> Element | None:
    """The first child ``tag`` (a prefixed name) of ``node``, or None."""
    return node.find(qname(tag))


def child_text(node: Element, tag: str) -> str | None:
    found = child(node, tag)
    return None if found is None or found.text is None else str(found.text).strip()


def required_text(node: Element, tag: str) -> str:
    value = child_text(node, tag)
    if not value:
        raise ValueError(f"{etree.QName(node).localname} needs {tag.partition(':')[2]}")
    return value


def float_attr(node: Element, name: str) -> float:
    raw = node.get(name)
    if raw is None:
        raise ValueError(f"{etree.QName(node).localname} needs attribute {name}")
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{etree.QName(node).localname}@{name}: {raw!r} is not a number") from None


def parse_bool(raw: str | None, *, default: bool) -> bool:
    if raw is None:
        return default
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise ValueError(f"{raw!r} is not an xs:boolean")


def parse_duration(raw: str) -> float:
    """xs:duration (days and smaller) → seconds: ``"PT1.5S"`` → 1.5. Years and months are refused."""
    match = _DURATION.match(raw.strip())
    if match is None or raw.strip() in ("P", "PT") or raw.strip().endswith("T"):
        raise ValueError(f"{raw!r} is not an xs:duration of days, hours, minutes and seconds")
    seconds = sum(float(match[k] or 0) * f for k, f in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)))
    return -seconds if match["sign"] else seconds


def format_duration(seconds: float) -> str:
    return f"PT{seconds:g}S"


def parse_datetime(raw: str) -> datetime:
    """xs:dateTime → aware UTC datetime (a missing offset means UTC)."""
    value = raw.strip()
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise ValueError(f"{raw!r} is not an xs:dateTime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
