"""WS-Security UsernameToken checks (SOAP) and HTTP Digest (snapshot URL): pure functions.

PasswordDigest is Base64(SHA1(nonce + created + password)), with the raw (decoded) nonce bytes
and the ``Created`` text exactly as sent. Every failure is a ``ValueError`` with an exact message;
the device answers all of them with the same ``ter:NotAuthorized`` fault.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from adapters.sim.onvif.soap import Element, parse_datetime

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_DIGEST = f"{_PROFILE}#PasswordDigest"
PASSWORD_TEXT = f"{_PROFILE}#PasswordText"
_DIGEST_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]*))')


@dataclass(frozen=True)
class UsernameToken:
    username: str
    password: str  # the digest (Base64) or the clear text, by ``digest``
    digest: bool
    nonce: bytes = b""
    created: str = ""  # as sent: it is part of the digest


def password_digest(nonce: bytes, created: str, password: str) -> str:
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def parse_username_token(header: Element | None) -> UsernameToken | None:
    """The ``wsse:Security/wsse:UsernameToken`` of a SOAP Header, or None when there is none."""
    if header is None:
        return None
    token = header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return None
    username = token.findtext(f"{{{WSSE}}}Username")
    password = token.find(f"{{{WSSE}}}Password")
    if not username:
        raise ValueError("UsernameToken has no Username")
    if password is None:
        raise ValueError("UsernameToken has no Password")
    kind = password.get("Type", PASSWORD_TEXT)
    if kind not in (PASSWORD_DIGEST, PASSWORD_TEXT):
        raise ValueError(f"unsupported password type {kind!r}")
    raw_nonce = (token.findtext(f"{{{WSSE}}}Nonce") or "").strip()
    try:
        nonce = base64.b64decode(raw_nonce, validate=True)
    except binascii.Error:
        raise ValueError("UsernameToken Nonce is not Base64") from None
    created = (token.findtext(f"{{{WSU}}}Created") or "").strip()
    digest = kind == PASSWORD_DIGEST
    if digest and not (nonce and created):
        raise ValueError("PasswordDigest needs Nonce and Created")
    return UsernameToken(username.strip(), (password.text or "").strip(), digest, nonce, created)


class NonceCache:
    """The nonces seen recently, to refuse replays when the device is told to."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def check_and_add(self, nonce: bytes) -> None:
        if nonce in self._seen:
            raise ValueError("nonce was already used")
        self._seen[nonce] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)


def verify_username_token(
    token: UsernameToken | None,
    *,
    username: str,
    password: str,
    now: datetime,
    tolerance_s: float,
    replays: NonceCache | None = None,
) -> None:
    """Raise ValueError unless ``token`` proves ``username``/``password`` at device time ``now``."""
    if token is None:
        raise ValueError("no UsernameToken in the request")
    if token.username != username:
        raise ValueError(f"unknown user {token.username!r}")
    if not token.digest:
        if token.password != password:
            raise ValueError("wrong password")
        return
    if token.password != password_digest(token.nonce, token.created, password):
        raise ValueError("wrong password digest")
    skew = (parse_datetime(token.created) - now).total_seconds()
    if abs(skew) > tolerance_s:
        raise ValueError(f"Created is {skew:+.0f} s off the device clock (tolerance {tolerance_s:g} s)")
    if replays is not None:
        replays.check_and_add(token.nonce)


# --- HTTP Digest (RFC 7616, MD5, qop=auth) for the snapshot URL ------------------------------


def parse_digest_authorization(header: str) -> dict[str, str]:
    """``Digest username="u", nonce="n", ...`` → its parameters."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"authorization scheme {scheme!r} is not Digest")
    params = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _DIGEST_PARAM.finditer(rest)}
    missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
    if missing:
        raise ValueError(f"Digest authorization lacks {', '.join(missing)}")
    return params


def digest_response(params: dict[str, str], *, password: str, method: str) -> str:
    """The expected ``response`` for the client's Digest parameters."""

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1 = md5(f"{params['username']}:{params['realm']}:{password}")
    ha2 = md5(f"{method}:{params['uri']}")
    if params.get("qop"):
        return md5(f"{ha1}:{params['nonce']}:{params.get('nc', '')}:{params.get('cnonce', '')}:auth:{ha2}")
    return md5(f"{ha1}:{params['nonce']}:{ha2}")
