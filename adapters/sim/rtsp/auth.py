"""RTSP authentication (RFC 2326 §D.2 with RFC 2617 Basic and Digest, MD5, no ``qop`` required).

Pure functions over header values, and :class:`Authenticator`, the per-server policy. Nonces are
stateless: a random part signed with a per-server secret, so every nonce the server handed out
stays valid for the connection's lifetime (FFmpeg reuses the first nonce for every request).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Literal

AuthMode = Literal["digest", "basic", "any"]
AUTH_MODES: tuple[AuthMode, ...] = ("digest", "basic", "any")
DEFAULT_REALM = "Sharp Eyes camera simulator"
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')
_DIGEST_REQUIRED = ("username", "realm", "nonce", "uri", "response")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # RFC 2617 Digest is MD5


def parse_authorization(value: str) -> tuple[str, str | dict[str, str]]:
    """``("basic", token)`` or ``("digest", {param: value})`` from an Authorization header."""
    scheme, _, rest = value.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        if not rest.strip():
            raise ValueError("empty Basic credentials")
        return scheme, rest.strip()
    if scheme != "digest":
        raise ValueError(f"unsupported authorization scheme: {scheme!r}")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None:
            raise ValueError(f"malformed Digest parameters at offset {position}: {rest[position:]!r}")
        raw = match[2]
        params[match[1].lower()] = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
        position = match.end()
    missing = [name for name in _DIGEST_REQUIRED if name not in params]
    if missing:
        raise ValueError(f"Digest credentials miss {', '.join(missing)}")
    return scheme, params


def digest_response(
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The ``response`` value of RFC 2617 §3.2.2.1 (algorithm MD5)."""
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop is None:
        return _md5(f"{ha1}:{nonce}:{ha2}")
    if qop != "auth":
        raise ValueError(f"unsupported Digest qop: {qop!r}")
    return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def basic_token(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class Authenticator:
    """Checks requests against one username and password, with Basic, Digest or either."""

    def __init__(self, credentials: tuple[str, str], mode: AuthMode = "digest", realm: str = DEFAULT_REALM):
        if mode not in AUTH_MODES:
            raise ValueError(f"unknown auth mode {mode!r} (known: {', '.join(AUTH_MODES)})")
        self.username, self.password = credentials
        self.mode = mode
        self.realm = realm
        self._secret = secrets.token_bytes(16)

    def _sign(self, salt: str) -> str:
        return hmac.new(self._secret, salt.encode(), hashlib.sha256).hexdigest()[:16]

    def new_nonce(self) -> str:
        salt = secrets.token_hex(8)
        return salt + self._sign(salt)

    def nonce_is_ours(self, nonce: str) -> bool:
        salt, signature = nonce[:16], nonce[16:]
        return len(nonce) == 32 and hmac.compare_digest(signature, self._sign(salt))

    def challenge(self) -> tuple[str, ...]:
        """The ``WWW-Authenticate`` values of a 401 (Digest first: clients pick the first they know)."""
        values: list[str] = []
        if self.mode in ("digest", "any"):
            values.append(f'Digest realm="{self.realm}", nonce="{self.new_nonce()}", algorithm=MD5')
        if self.mode in ("basic", "any"):
            values.append(f'Basic realm="{self.realm}"')
        return tuple(values)

    def check(self, method: str, url: str, authorization: str | None) -> bool:
        """True when ``authorization`` (the header value, if any) lets ``method`` on ``url`` in."""
        if authorization is None:
            return False
        try:
            _scheme, value = parse_authorization(authorization)
        except ValueError:
            return False
        if isinstance(value, str):
            return self.mode in ("basic", "any") and self._check_basic(value)
        return self.mode in ("digest", "any") and self._check_digest(method, url, value)

    def _check_basic(self, token: str) -> bool:
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(decoded, f"{self.username}:{self.password}")

    def _check_digest(self, method: str, url: str, params: dict[str, str]) -> bool:
        if params["username"] != self.username or params["realm"] != self.realm:
            return False
        if not self.nonce_is_ours(params["nonce"]) or not _same_resource(params["uri"], url):
            return False
        try:
            expected = digest_response(
                username=self.username,
                realm=self.realm,
                password=self.password,
                method=method,
                uri=params["uri"],
                nonce=params["nonce"],
                qop=params.get("qop"),
                nc=params.get("nc"),
                cnonce=params.get("cnonce"),
            )
        except ValueError:
            return False
        return hmac.compare_digest(expected, params["response"].lower())


def _same_resource(digest_uri: str, request_url: str) -> bool:
    """Clients put either the request URL or its path in the Digest ``uri``."""
    if digest_uri == request_url:
        return True
    _, _, path = request_url.partition("://")
    return "/" + path.partition("/")[2] == digest_uri
