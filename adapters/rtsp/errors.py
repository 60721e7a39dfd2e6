"""Map PyAV/FFmpeg errors to the stream-source errors, once, with credentials removed."""

from __future__ import annotations

import re
import urllib.parse

import av.error

from adapters.source import SourceError, SourceStalled, SourceUnauthorized

# Errors PyAV raises from av.open and demux, and why we expect each:
AUTH_ERRORS = (av.error.HTTPUnauthorizedError, av.error.HTTPForbiddenError)  # RTSP 401/403
STALL_ERRORS = (av.error.ExitError, TimeoutError)  # our read time-out fired (interrupt callback)


def redact_url(url: str) -> str:
    """The URL without its password, safe for logs and the API."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.netloc.rpartition("@")[2]  # as written: keeps IPv6 brackets and the port
    user = f"{parts.username}:***@" if parts.username else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=user + host))


_USERINFO = re.compile(r"(\w+://)[^/\s]*@")  # up to the last @: passwords may contain one


def scrub(text: str) -> str:
    """FFmpeg error texts repeat the full URL, password included: remove any userinfo."""
    return _USERINFO.sub(r"\1***@", text)


def map_av_error(err: BaseException, safe_url: str) -> SourceError:
    reason = scrub(getattr(err, "strerror", None) or str(err))
    if isinstance(err, AUTH_ERRORS):
        return SourceUnauthorized(f"{safe_url}: camera refused the credentials ({reason})")
    if isinstance(err, STALL_ERRORS):
        return SourceStalled(f"{safe_url}: no data (time-out)")
    if isinstance(err, ConnectionRefusedError) or "Connection refused" in reason:
        return SourceError(f"{safe_url}: connection refused")
    return SourceError(f"{safe_url}: {reason}")
