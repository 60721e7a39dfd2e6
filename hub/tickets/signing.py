"""HMAC-SHA256 webhook signatures, as GitHub and Stripe sign theirs. Pure.

Header: ``X-Hub-Signature-256: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.
The timestamp is inside the MAC, so a captured request cannot be replayed after the
tolerance; several ``v1`` entries are accepted, so a receiver can rotate secrets.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"


class SignatureError(ValueError):
    """The request's signature header is malformed, wrong or too old."""


def _mac(body: bytes, secret: bytes, timestamp: int) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: bytes, timestamp: int) -> str:
    """The header value for ``body`` signed at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_mac(body, secret, timestamp)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not value:
            raise SignatureError("malformed signature header")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise SignatureError("malformed signature header")
            timestamp = int(value)
        elif key == "v1":
            macs.append(value)
        # Other schemes (v0, future v2) are ignored, as Stripe's receivers do.
    if timestamp is None or not macs:
        raise SignatureError("malformed signature header")
    return timestamp, macs


def verify(body: bytes, header: str, secret: bytes, *, now: float, tolerance_s: float = 300) -> None:
    """Raise :class:`SignatureError` unless ``header`` signs ``body`` with ``secret`` near ``now``."""
    timestamp, macs = _parse(header)
    expected = _mac(body, secret, timestamp)
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        raise SignatureError("signature does not match")
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError("signature timestamp outside tolerance")
