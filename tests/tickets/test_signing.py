"""Signature round trip and the exact reasons a receiver refuses a request."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hub.tickets.signing import SignatureError, sign, verify

SECRET = b"s3cret"
BODY = b'{"schema":"sharp-eyes.ticket/v1"}'
T = 1_741_918_530


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, SECRET, T) == f"t={T},v1={expected}"


def test_round_trip_within_tolerance() -> None:
    header = sign(BODY, SECRET, T)
    verify(BODY, header, SECRET, now=T + 299)
    verify(BODY, header, SECRET, now=T - 299)


def test_any_of_several_v1_signatures_is_accepted() -> None:
    good = sign(BODY, SECRET, T).split(",")[1]
    verify(BODY, f"t={T},v1={'0' * 64},{good}", SECRET, now=T)


@pytest.mark.parametrize(
    "header",
    ["", "garbage", f"t={T}", "v1=abcd", f"t=soon,v1={'0' * 64}", f"t={T},v1=", f"t={T},t={T},v1=00"],
)
def test_malformed_header(header: str) -> None:
    with pytest.raises(SignatureError, match=r"^malformed signature header$"):
        verify(BODY, header, SECRET, now=T)


@pytest.mark.parametrize(
    ("body", "secret"),
    [(BODY + b" ", SECRET), (BODY, b"other secret")],
    ids=["tampered body", "wrong secret"],
)
def test_signature_does_not_match(body: bytes, secret: bytes) -> None:
    with pytest.raises(SignatureError, match=r"^signature does not match$"):
        verify(body, sign(BODY, SECRET, T), secret, now=T)


def test_old_or_future_timestamp_is_refused() -> None:
    header = sign(BODY, SECRET, T)
    for now in (T + 301, T - 301):
        with pytest.raises(SignatureError, match=r"^signature timestamp outside tolerance$"):
            verify(BODY, header, SECRET, now=now)


def test_signature_error_is_a_value_error() -> None:
    assert issubclass(SignatureError, ValueError)
