"""Put camera credentials into a stream URL at the last moment, never into storage or logs."""

from __future__ import annotations

import urllib.parse

from pydantic import SecretStr


def with_credentials(url: str, username: str | None, password: SecretStr | None) -> str:
    if not username:
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = urllib.parse.quote(username, safe="")
    secret = urllib.parse.quote(password.get_secret_value(), safe="") if password else ""
    userinfo = f"{user}:{secret}@" if secret else f"{user}@"
    return urllib.parse.urlunsplit(parts._replace(netloc=userinfo + host))
