"""WS-Discovery 2005/04 messages as ONVIF devices send them: pure builders and parsers.

SOAP 1.2 envelopes with 2004/08 WS-Addressing headers. Probe, ProbeMatches, Hello and Bye are
built from and parsed into small frozen dataclasses; the parsers raise ``ValueError`` with an exact
message. Type names (``Types``) are kept in Clark notation, ``{namespace}local``, because the
prefix a device picks means nothing: see :data:`NVT` and :data:`DEVICE`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs

Element: TypeAlias = Any  # an lxml.Element (untyped)

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"

NVT = f"{{{DN}}}NetworkVideoTransmitter"
DEVICE = f"{{{TDS}}}Device"
DISCOVERY_URN = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"  # wsa:To of multicast messages
ANONYMOUS = f"{WSA}/role/anonymous"
ACTION_PROBE = f"{WSD}/Probe"
ACTION_PROBE_MATCHES = f"{WSD}/ProbeMatches"
ACTION_HELLO = f"{WSD}/Hello"
ACTION_BYE = f"{WSD}/Bye"
MAX_MESSAGE = 65_507  # the largest UDP/IPv4 payload

# Prefixes we write, and the ones some cameras use in Types without declaring them.
_PREFIXES = {SOAP: "s", WSA: "a", WSD: "d", DN: "dn", TDS: "tds"}
_WELL_KNOWN = {"dn": DN, "tds": TDS}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a device says about itself: in a ProbeMatch, a Hello or a Bye."""

    address: str  # the EndpointReference, ``urn:uuid:…``; stable across restarts
    types: tuple[str, ...] = (NVT,)
    scopes: tuple[str, ...] = ()
    xaddrs: tuple[str, ...] = ()
    metadata_version: int = 1


@dataclass(frozen=True, slots=True)
class AppSequence:
    instance_id: int
    message_number: int


@dataclass(frozen=True, slots=True)
class Probe:
    message_id: str
    types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    reply_to: str = ANONYMOUS


@dataclass(frozen=True, slots=True)
class ProbeMatches:
    message_id: str
    relates_to: str
    matches: tuple[Endpoint, ...]
    sequence: AppSequence | None = None


@dataclass(frozen=True, slots=True)
class Hello:
    message_id: str
    endpoint: Endpoint
    sequence: AppSequence | None = None


@dataclass(frozen=True, slots=True)
class Bye:
    message_id: str
    endpoint: Endpoint
    sequence: AppSequence | None = None


Message = Probe | ProbeMatches | Hello | Bye


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def matches_probe(probe: Probe, endpoint: Endpoint) -> bool:
    """Every probed type is one of the endpoint's, and every probed scope prefixes one of its scopes."""
    if not set(probe.types) <= set(endpoint.types):
        return False
    return all(any(_scope_matches(want, have) for have in endpoint.scopes) for want in probe.scopes)


def _scope_matches(want: str, have: str) -> bool:
    """RFC 3986 matching, simplified: whole path segments, trailing slash ignored."""
    want, have = want.rstrip("/"), have.rstrip("/")
    return have == want or have.startswith(want + "/")


# --- building -------------------------------------------------------------------------


def _q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def _envelope(action: str, message_id: str, to: str) -> Element:
    nsmap: dict[str | None, str] = {"s": SOAP, "a": WSA, "d": WSD}
    root = etree.Element(_q(SOAP, "Envelope"), nsmap=nsmap)
    header = etree.SubElement(root, _q(SOAP, "Header"))
    etree.SubElement(header, _q(WSA, "MessageID")).text = message_id
    etree.SubElement(header, _q(WSA, "To")).text = to
    etree.SubElement(header, _q(WSA, "Action")).text = action
    etree.SubElement(root, _q(SOAP, "Body"))
    return root


def _header(root: Element) -> Element:
    return root[0]


def _body(root: Element) -> Element:
    return root[1]


def _sequence(root: Element, sequence: AppSequence | None) -> None:
    if sequence is not None:
        etree.SubElement(
            _header(root),
            _q(WSD, "AppSequence"),
            InstanceId=str(sequence.instance_id),
            MessageNumber=str(sequence.message_number),
        )


def _typed(parent: Element, tag: str, types: Iterable[str]) -> None:
    """A ``Types`` element with its own namespace declarations, as lxml cannot add them later."""
    types = tuple(types)
    if not types:
        return
    needed: dict[str | None, str] = {}
    extra: dict[str, str] = {}  # namespaces without a usual prefix get t0, t1, …
    names: list[str] = []
    for name in types:
        namespace, _, local = name[1:].partition("}")
        if not name.startswith("{") or not local:
            raise ValueError(f"type {name!r} is not in {{namespace}}local form")
        prefix = _PREFIXES.get(namespace) or extra.setdefault(namespace, f"t{len(extra)}")
        needed[prefix] = namespace
        names.append(f"{prefix}:{local}")
    etree.SubElement(parent, tag, nsmap=needed).text = " ".join(names)


def _endpoint(parent: Element, endpoint: Endpoint, *, full: bool = True) -> None:
    reference = etree.SubElement(parent, _q(WSA, "EndpointReference"))
    etree.SubElement(reference, _q(WSA, "Address")).text = endpoint.address
    if not full:
        return
    _typed(parent, _q(WSD, "Types"), endpoint.types)
    if endpoint.scopes:
        etree.SubElement(parent, _q(WSD, "Scopes")).text = " ".join(endpoint.scopes)
    if endpoint.xaddrs:
        etree.SubElement(parent, _q(WSD, "XAddrs")).text = " ".join(endpoint.xaddrs)
    etree.SubElement(parent, _q(WSD, "MetadataVersion")).text = str(endpoint.metadata_version)


def _serialize(root: Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def build_probe(probe: Probe) -> bytes:
    root = _envelope(ACTION_PROBE, probe.message_id, DISCOVERY_URN)
    reply_to = etree.SubElement(_header(root), _q(WSA, "ReplyTo"))
    etree.SubElement(reply_to, _q(WSA, "Address")).text = probe.reply_to
    body = etree.SubElement(_body(root), _q(WSD, "Probe"))
    _typed(body, _q(WSD, "Types"), probe.types)
    if probe.scopes:
        etree.SubElement(body, _q(WSD, "Scopes")).text = " ".join(probe.scopes)
    return _serialize(root)


def build_probe_matches(reply: ProbeMatches) -> bytes:
    root = _envelope(ACTION_PROBE_MATCHES, reply.message_id, ANONYMOUS)
    etree.SubElement(_header(root), _q(WSA, "RelatesTo")).text = reply.relates_to
    _sequence(root, reply.sequence)
    body = etree.SubElement(_body(root), _q(WSD, "ProbeMatches"))
    for endpoint in reply.matches:
        _endpoint(etree.SubElement(body, _q(WSD, "ProbeMatch")), endpoint)
    return _serialize(root)


def build_hello(hello: Hello) -> bytes:
    root = _envelope(ACTION_HELLO, hello.message_id, DISCOVERY_URN)
    _sequence(root, hello.sequence)
    _endpoint(etree.SubElement(_body(root), _q(WSD, "Hello")), hello.endpoint)
    return _serialize(root)


def build_bye(bye: Bye) -> bytes:
    root = _envelope(ACTION_BYE, bye.message_id, DISCOVERY_URN)
    _sequence(root, bye.sequence)
    _endpoint(etree.SubElement(_body(root), _q(WSD, "Bye")), bye.endpoint, full=False)
    return _serialize(root)


# --- parsing --------------------------------------------------------------------------


def _parse_xml(data: bytes) -> Element:
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"message of {len(data)} bytes is larger than {MAX_MESSAGE}")
    if b"<!DOCTYPE" in data.upper():
        raise ValueError("message must not contain a DOCTYPE")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as err:
        raise ValueError(f"not XML: {err}") from None
    if root.tag != _q(SOAP, "Envelope"):
        raise ValueError(f"not a SOAP 1.2 envelope: root element is {root.tag!r}")
    return root


def _child(parent: Element, namespace: str, local: str, missing: str) -> Element:
    found = parent.find(_q(namespace, local))
    if found is None:
        raise ValueError(missing)
    return found


def _text(parent: Element, path: str) -> str | None:
    text = parent.findtext(path)
    return None if text is None or not text.strip() else text.strip()


def _words(parent: Element, local: str) -> tuple[str, ...]:
    return tuple((parent.findtext(_q(WSD, local)) or "").split())


def _qnames(parent: Element) -> tuple[str, ...]:
    """``Types`` as ``{ns}local`` names, resolving each prefix where it is declared."""
    element = parent.find(_q(WSD, "Types"))
    if element is None:
        return ()
    names: list[str] = []
    for token in (element.text or "").split():
        prefix, colon, local = token.rpartition(":")
        namespace = element.nsmap.get(prefix or None) or _WELL_KNOWN.get(prefix)
        if namespace is None:
            if not colon:
                raise ValueError(f"type {token!r} has no namespace")
            raise ValueError(f"type {token!r} uses the undeclared prefix {prefix!r}")
        names.append(_q(namespace, local))
    return tuple(names)


def _parse_endpoint(parent: Element, what: str) -> Endpoint:
    address = _text(parent, f"{_q(WSA, 'EndpointReference')}/{_q(WSA, 'Address')}")
    if address is None:
        raise ValueError(f"{what} has no EndpointReference/Address")
    raw_version = _text(parent, _q(WSD, "MetadataVersion"))
    if raw_version is not None and not raw_version.isdigit():
        raise ValueError(f"{what} MetadataVersion {raw_version!r} is not an unsigned integer")
    return Endpoint(
        address=address,
        types=_qnames(parent),
        scopes=_words(parent, "Scopes"),
        xaddrs=_words(parent, "XAddrs"),
        metadata_version=1 if raw_version is None else int(raw_version),
    )


def _parse_sequence(header: Element) -> AppSequence | None:
    element = header.find(_q(WSD, "AppSequence"))
    if element is None:
        return None
    instance, number = element.get("InstanceId", ""), element.get("MessageNumber", "")
    if not (instance.isdigit() and number.isdigit()):
        raise ValueError("AppSequence InstanceId and MessageNumber must be unsigned integers")
    return AppSequence(int(instance), int(number))


def parse_message(data: bytes) -> Message:
    """Any of the four messages, told apart by ``wsa:Action``."""
    root = _parse_xml(data)
    header = _child(root, SOAP, "Header", "SOAP envelope has no Header")
    body = _child(root, SOAP, "Body", "SOAP envelope has no Body")
    action = _text(header, _q(WSA, "Action"))
    if action is None:
        raise ValueError("missing wsa:Action header")
    message_id = _text(header, _q(WSA, "MessageID"))
    if message_id is None:
        raise ValueError("missing wsa:MessageID header")
    if action == ACTION_PROBE:
        probe = _child(body, WSD, "Probe", "Probe body has no d:Probe element")
        reply_to = _text(header, f"{_q(WSA, 'ReplyTo')}/{_q(WSA, 'Address')}") or ANONYMOUS
        return Probe(message_id, _qnames(probe), _words(probe, "Scopes"), reply_to)
    if action == ACTION_PROBE_MATCHES:
        relates_to = _text(header, _q(WSA, "RelatesTo"))
        if relates_to is None:
            raise ValueError("ProbeMatches has no wsa:RelatesTo header")
        found = _child(body, WSD, "ProbeMatches", "ProbeMatches body has no d:ProbeMatches element")
        matches = tuple(_parse_endpoint(m, "ProbeMatch") for m in found.iterfind(_q(WSD, "ProbeMatch")))
        return ProbeMatches(message_id, relates_to, matches, _parse_sequence(header))
    if action in (ACTION_HELLO, ACTION_BYE):
        local = action.rpartition("/")[2]
        element = _child(body, WSD, local, f"{local} body has no d:{local} element")
        endpoint = _parse_endpoint(element, local)
        kind = Hello if action == ACTION_HELLO else Bye
        return kind(message_id, endpoint, _parse_sequence(header))
    raise ValueError(f"unsupported WS-Discovery action {action!r}")


def parse_probe(data: bytes) -> Probe:
    message = parse_message(data)
    if not isinstance(message, Probe):
        raise ValueError(f"expected a Probe, got {type(message).__name__}")
    return message


def parse_probe_matches(data: bytes, *, relates_to: str | None = None) -> ProbeMatches:
    """A ProbeMatches reply; with ``relates_to``, it must answer that probe's MessageID."""
    message = parse_message(data)
    if not isinstance(message, ProbeMatches):
        raise ValueError(f"expected a ProbeMatches, got {type(message).__name__}")
    if relates_to is not None and message.relates_to != relates_to:
        raise ValueError(f"ProbeMatches relates to {message.relates_to!r}, not to the probe {relates_to!r}")
    return message
