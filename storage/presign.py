"""Signed download URLs for the local backend, as pure functions.

The hub's API serves ``/api/v1/objects/<key>?expires=<unix>&signature=<hex>`` and calls
:func:`verify_object_signature` before streaming the file, so a link handed to an operator (or a
grid ticket) works without a login until it expires.
"""

from __future__ import annotations

import hashlib
import hmac


class PresignError(ValueError):
    """The signed URL is forged, tampered with or expired."""


def _message(key: str, expires_at: int) -> bytes:
    # A newline cannot occur in a valid key, so "key\nexpiry" is unambiguous.
    return f"{key}\n{expires_at}".encode()


def sign_object_url(key: str, expires_at: int, signing_key: bytes) -> str:
    """The hex HMAC-SHA256 over ``key`` and ``expires_at`` (unix seconds)."""
    if not signing_key:
        raise ValueError("signing key is empty")
    return hmac.new(signing_key, _message(key, expires_at), hashlib.sha256).hexdigest()


def verify_object_signature(
    key: str, expires_at: int, signature: str, signing_key: bytes, now: float
) -> None:
    """Raise :class:`PresignError` unless ``signature`` is valid for ``key`` and not expired at ``now``.

    The signature is checked first, so a tampered expiry reads as a bad signature, not as expired.
    """
    expected = sign_object_url(key, expires_at, signing_key)
    # Bytes, not str: compare_digest refuses non-ASCII str, and a forged URL may carry anything.
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise PresignError("signature does not match")
    if now > expires_at:
        raise PresignError("URL expired")
