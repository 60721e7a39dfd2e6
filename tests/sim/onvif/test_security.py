"""WS-Security UsernameToken (PasswordDigest, PasswordText) and HTTP Digest checks."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs
from zeep.wsse.username import UsernameToken as ZeepUsernameToken

from adapters.sim.onvif.security import (
    NonceCache,
    UsernameToken,
    digest_response,
    parse_digest_authorization,
    parse_username_token,
    password_digest,
    verify_username_token,
)

NOW = datetime(2010, 9, 16, 7, 50, 45, tzinfo=UTC)


def test_password_digest_known_vector() -> None:
    """The example of the ONVIF Application Programmer's Guide."""
    nonce = base64.b64decode("LKqI6G/AikKCQrN0zqZFlg==")
    assert password_digest(nonce, "2010-09-16T07:50:45Z", "userpassword") == "tuOSpGlFlIXsozq4HFNeeGeFLEI="


def _zeep_header(
    password: str, created: datetime, *, digest: bool = True, nonce: str | None = None
) -> object:
    """The Security header zeep (the onvif-zeep-async client) puts on a request."""
    envelope = etree.fromstring(
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header/><e:Body/></e:Envelope>'
    )
    token = ZeepUsernameToken(  # type: ignore[no-untyped-call]  # zeep is partly typed
        "admin",
        password,
        use_digest=digest,
        created=created.replace(tzinfo=None),
        nonce=nonce,
        zulu_timestamp=True,
    )
    token.apply(envelope, {})  # type: ignore[no-untyped-call]
    return envelope.find("{http://www.w3.org/2003/05/soap-envelope}Header")


def _verify(token: UsernameToken | None, *, now: datetime = NOW, replays: NonceCache | None = None) -> None:
    verify_username_token(
        token, username="admin", password="secret", now=now, tolerance_s=300, replays=replays
    )


def test_zeep_digest_token_verifies() -> None:
    token = parse_username_token(_zeep_header("secret", NOW))
    assert token is not None and token.digest and token.created == "2010-09-16T07:50:45Z"
    _verify(token, now=NOW + timedelta(seconds=299))


@pytest.mark.parametrize(
    ("password", "created", "message"),
    [
        ("wrong", NOW, "wrong password digest"),
        ("secret", NOW - timedelta(hours=2), "Created is -7200 s off the device clock (tolerance 300 s)"),
    ],
)
def test_bad_digest_tokens(password: str, created: datetime, message: str) -> None:
    with pytest.raises(ValueError) as info:
        _verify(parse_username_token(_zeep_header(password, created)))
    assert str(info.value) == message


def test_password_text_and_missing_token() -> None:
    _verify(parse_username_token(_zeep_header("secret", NOW, digest=False)))
    with pytest.raises(ValueError) as info:
        _verify(parse_username_token(_zeep_header("nope", NOW, digest=False)))
    assert str(info.value) == "wrong password"
    with pytest.raises(ValueError) as info:
        _verify(parse_username_token(None))
    assert str(info.value) == "no UsernameToken in the request"
    with pytest.raises(ValueError) as info:
        verify_username_token(
            UsernameToken("root", "secret", False),
            username="admin",
            password="secret",
            now=NOW,
            tolerance_s=1,
        )
    assert str(info.value) == "unknown user 'root'"


def test_repeated_nonces_pass_unless_replays_are_refused() -> None:
    """Debian's libonvif repeats nonces within a second, so repeats are accepted by default."""
    header = _zeep_header("secret", NOW, nonce="0123456789abcdef")
    token = parse_username_token(header)
    _verify(token)
    _verify(token)
    replays = NonceCache()
    _verify(token, replays=replays)
    with pytest.raises(ValueError) as info:
        _verify(token, replays=replays)
    assert str(info.value) == "nonce was already used"


def test_http_digest_rfc2617_example() -> None:
    """RFC 2617 section 3.5: Mufasa / Circle Of Life."""
    params = parse_digest_authorization(
        'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", '
        'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert params["qop"] == "auth" and params["nc"] == "00000001"
    assert digest_response(params, password="Circle Of Life", method="GET") == params["response"]
    with pytest.raises(ValueError) as info:
        parse_digest_authorization('Digest username="x"')
    assert str(info.value) == "Digest authorization lacks realm, nonce, uri, response"
