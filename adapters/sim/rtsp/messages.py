"""RTSP/1.0 message parsing and formatting (RFC 2326), pure functions over bytes.

The server reads a request head up to the blank line, parses it with :func:`parse_head`, then
reads ``content_length`` more bytes for the body; :func:`parse_request` does both on one buffer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

RTSP_VERSION = "RTSP/1.0"
HEAD_END = b"\r\n\r\n"

REASONS: dict[int, str] = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "RTSP Version Not Supported",
}


@dataclass(frozen=True, slots=True)
class RtspRequest:
    method: str
    url: str
    version: str
    headers: Mapping[str, str]  # keys lower-cased
    cseq: int
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_length(self) -> int:
        return _content_length(self.headers)

    @property
    def session_id(self) -> str | None:
        """The session id of the Session header, without its ``;timeout=`` parameter."""
        value = self.header("session")
        return value.split(";", 1)[0].strip() if value else None


def _content_length(headers: Mapping[str, str]) -> int:
    raw = headers.get("content-length", "0").strip()
    if not raw.isdigit():
        raise ValueError(f"invalid Content-Length: {raw!r}")
    return int(raw)


def parse_head(head: bytes) -> RtspRequest:
    """Parse a request line and headers (the bytes before the blank line, which may be included)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError("request head is not valid UTF-8") from err
    lines = text.removesuffix("\r\n\r\n").split("\r\n")
    if not lines[0].strip():
        raise ValueError("empty request")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"malformed request line: {lines[0]!r}")
    method, url, version = parts
    if version != RTSP_VERSION:
        raise ValueError(f"unsupported RTSP version: {version!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise ValueError(f"malformed header line: {line!r}")
        headers[name.lower()] = value.strip()
    if "cseq" not in headers:
        raise ValueError("missing CSeq header")
    if not headers["cseq"].isdigit():
        raise ValueError(f"invalid CSeq: {headers['cseq']!r}")
    _content_length(headers)
    return RtspRequest(method, url, version, headers, int(headers["cseq"]))


def parse_request(data: bytes) -> RtspRequest:
    """Parse a complete request: head, blank line, and exactly Content-Length bytes of body."""
    head, sep, body = data.partition(HEAD_END)
    if not sep:
        raise ValueError("request head is not terminated by a blank line")
    request = parse_head(head)
    if len(body) != request.content_length:
        expected = request.content_length
        raise ValueError(f"body length mismatch: Content-Length {expected}, got {len(body)} bytes")
    return replace(request, body=body)


def format_response(
    status: int,
    cseq: int | None,
    headers: Mapping[str, str | tuple[str, ...]] | None = None,
    body: bytes = b"",
) -> bytes:
    """An RTSP response; Content-Length is added when there is a body.

    A tuple value repeats its header once per item (``WWW-Authenticate`` with two schemes).
    """
    lines = [f"{RTSP_VERSION} {status} {REASONS.get(status, 'Unknown')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    for name, value in (headers or {}).items():
        lines.extend(f"{name}: {item}" for item in ((value,) if isinstance(value, str) else value))
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


@dataclass(frozen=True, slots=True)
class TransportSpec:
    """One entry of a Transport header."""

    protocol: str  # "RTP/AVP" (UDP) or "RTP/AVP/TCP"
    unicast: bool
    interleaved: tuple[int, int] | None = None
    client_port: tuple[int, int] | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_tcp(self) -> bool:
        return self.protocol.upper() == "RTP/AVP/TCP"


def _pair(name: str, value: str) -> tuple[int, int]:
    low, sep, high = value.partition("-")
    if not low.isdigit() or (sep and not high.isdigit()):
        raise ValueError(f"invalid {name}: {value!r}")
    return int(low), int(high) if sep else int(low) + 1


def parse_transport(value: str) -> list[TransportSpec]:
    """Parse a Transport header into its comma-separated alternatives, in preference order."""
    specs: list[TransportSpec] = []
    for alternative in value.split(","):
        fields = [f.strip() for f in alternative.split(";") if f.strip()]
        if not fields:
            raise ValueError(f"empty transport in {value!r}")
        protocol = fields[0]
        if not protocol.upper().startswith("RTP/AVP"):
            raise ValueError(f"unsupported transport protocol: {protocol!r}")
        params: dict[str, str] = {}
        for item in fields[1:]:
            key, _, val = item.partition("=")
            params[key.lower()] = val
        specs.append(
            TransportSpec(
                protocol=protocol,
                unicast="multicast" not in params,
                interleaved=_pair("interleaved", params["interleaved"]) if "interleaved" in params else None,
                client_port=_pair("client_port", params["client_port"]) if "client_port" in params else None,
                params=params,
            )
        )
    return specs
