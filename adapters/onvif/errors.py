"""The ONVIF adapter's errors, and the one place where third-party errors become them.

::

    OnvifError                    anything else the library reported          → error
    ├── OnvifUnauthorized         bad credentials: do not retry soon          → unauthorized
    ├── OnvifClockSkew            clock too far off for WS-Security           → degraded
    ├── OnvifUnreachable          refused, reset, DNS: retry later            → offline
    │   └── OnvifTimeout          no reply within the client's time-out       → offline
    ├── OnvifFault                any other SOAP fault (code, subcodes)       → error
    ├── OnvifMalformedReply       unparseable, or lacks what the hub needs    → error
    └── OnvifNotSupported         service or feature absent (e.g. no PTZ)     → degraded

Callers catch :data:`ONVIF_ERRORS` around a library call and ``raise map_onvif_error(err) from err``;
:func:`status_for` turns any of these into the hub's camera status.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable
from typing import Any, ClassVar

import aiohttp
import httpx
import zeep.exceptions

# onvif-zeep-async: ``import onvif`` runs logging.basicConfig(level=INFO), which would put a stderr
# handler on the hub's root logger; remember the root logger as it was and put it back.
_root = logging.getLogger()
_handlers, _level = list(_root.handlers), _root.level
from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError  # noqa: E402
from onvif.util import is_auth_error  # noqa: E402

for _handler in [h for h in _root.handlers if h not in _handlers]:
    _root.removeHandler(_handler)
_root.setLevel(_level)


class CameraStatus(enum.StrEnum):
    """What the hub shows for a camera whose ONVIF side failed."""

    UNAUTHORIZED = "unauthorized"
    OFFLINE = "offline"
    ERROR = "error"
    DEGRADED = "degraded"


class OnvifError(Exception):
    """Base of the adapter's errors; ``reason`` is the text for the operator, without the camera."""

    status: ClassVar[CameraStatus] = CameraStatus.ERROR

    def __init__(self, reason: str, *, camera: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.camera = reason, camera

    def __str__(self) -> str:
        return f"{self.camera}: {self.reason}" if self.camera else self.reason


class OnvifUnauthorized(OnvifError):
    status = CameraStatus.UNAUTHORIZED


class OnvifClockSkew(OnvifError):
    status = CameraStatus.DEGRADED


class OnvifUnreachable(OnvifError):
    status = CameraStatus.OFFLINE


class OnvifTimeout(OnvifUnreachable):
    pass


class OnvifFault(OnvifError):
    """A SOAP fault: ``code`` like ``env:Sender``, ``subcodes`` local names outermost first."""

    def __init__(
        self, reason: str, *, code: str, subcodes: tuple[str, ...], camera: str | None = None
    ) -> None:
        super().__init__(reason, camera=camera)
        self.code, self.subcodes = code, subcodes


class OnvifMalformedReply(OnvifError, ValueError):
    """Also a ValueError: the pure reply parsers raise it with an exact message."""


class OnvifNotSupported(OnvifError):
    status = CameraStatus.DEGRADED


def status_for(error: OnvifError) -> CameraStatus:
    """The hub's camera status for ``error``; ``error.reason`` says why."""
    return error.status


# --- what each library raises, and why we expect it -------------------------------------------
TIMEOUT_ERRORS = (
    TimeoutError,  # asyncio.timeout around each call; aiohttp's ServerTimeoutError subclasses it
    httpx.TimeoutException,  # zeep's own httpx transport (onvif-zeep-async uses aiohttp instead)
)
UNREACHABLE_ERRORS = (
    aiohttp.ClientError,  # refused, reset, "server disconnected" (an offline or rebooting camera), DNS
    httpx.HTTPError,  # the same from zeep's httpx transport (HTTPStatusError is mapped by status first)
    OSError,  # socket errors that escape aiohttp (ConnectionRefusedError, socket.gaierror)
)
MALFORMED_ERRORS = (
    zeep.exceptions.TransportError,  # a reply that is not XML (zeep wraps XMLSyntaxError), or HTTP 401/404
    zeep.exceptions.Error,  # XML that does not fit the WSDL: XMLParseError, ValidationError, …
    httpx.DecodingError,  # a body that does not decode
)
FAULT_ERRORS = (zeep.exceptions.Fault,)  # a SOAP fault: bad credentials, clock, or anything else
LIBRARY_ERRORS = (
    ONVIFError,  # onvif-zeep-async: missing service, its own time-outs and auth, or a wrapped error
)
ONVIF_ERRORS: tuple[type[Exception], ...] = (
    *LIBRARY_ERRORS,
    *FAULT_ERRORS,
    *MALFORMED_ERRORS,
    *TIMEOUT_ERRORS,
    *UNREACHABLE_ERRORS,
)

# Vendors answer a stale WS-Security Created with NotAuthorized; only the reason tells the two apart.
_CLOCK_WORDS = re.compile(r"clock|timestamp|time ?skew|created", re.IGNORECASE)
_UNSUPPORTED_SUBCODES = frozenset({"ActionNotSupported", "NotSupported"})
_MAX_REASON = 200

_Mapper = Callable[[Any, str], OnvifError]


def _short(text: object) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 1] + "…"


def _localname(code: object) -> str:
    name = getattr(code, "localname", None)
    return str(name) if name else str(code).rpartition("}")[2].rpartition(":")[2]


def _from_fault(err: zeep.exceptions.Fault, op: str) -> OnvifError:
    subcodes = tuple(_localname(q) for q in (err.subcodes or []))
    reason = _short(err.message or "SOAP fault without a reason")
    if is_auth_error(err):
        if _CLOCK_WORDS.search(reason):
            return OnvifClockSkew(f"{op}the camera refused our clock: {reason}")
        return OnvifUnauthorized(f"{op}credentials refused: {reason}")
    if _UNSUPPORTED_SUBCODES.intersection(subcodes):
        return OnvifNotSupported(f"{op}not supported: {reason}")
    return OnvifFault(
        f"{op}SOAP fault {'/'.join(subcodes) or err.code}: {reason}", code=str(err.code), subcodes=subcodes
    )


def _from_http_status(status: int | None, message: object, op: str) -> OnvifError:
    if status in (401, 403):
        return OnvifUnauthorized(f"{op}HTTP {status}: credentials refused")
    if status in (404, 405):
        return OnvifNotSupported(f"{op}HTTP {status}: no such service")
    text = str(message).partition("\nContent:")[0]  # zeep appends the whole body; the operator needs none
    return OnvifMalformedReply(f"{op}unreadable reply: {_short(text)}")


def _from_library(err: ONVIFError, op: str) -> OnvifError:
    cause = err.__cause__
    if isinstance(cause, Exception) and not isinstance(cause, ONVIFError) and mapper_for(type(cause)):
        return _map(cause, op)
    text = _short(err)
    if "support service" in text:  # get_definition: "Device doesn`t support service: ptz with …"
        return OnvifNotSupported(f"{op}{text.removeprefix('Unknown error: ')}")
    return OnvifError(f"{op}{text}")


# First match wins: subclasses before their bases.
_MAPPING: tuple[tuple[tuple[type[Exception], ...], _Mapper], ...] = (
    ((ONVIFTimeoutError,), lambda e, op: OnvifTimeout(f"{op}timed out: {_short(e)}")),
    ((ONVIFAuthError,), lambda e, op: OnvifUnauthorized(f"{op}credentials refused: {_short(e)}")),
    (LIBRARY_ERRORS, _from_library),
    (FAULT_ERRORS, _from_fault),
    ((zeep.exceptions.TransportError,), lambda e, op: _from_http_status(e.status_code, e.message, op)),
    (MALFORMED_ERRORS, lambda e, op: OnvifMalformedReply(f"{op}unreadable reply: {_short(e)}")),
    (TIMEOUT_ERRORS, lambda e, op: OnvifTimeout(f"{op}no reply in time")),
    ((aiohttp.InvalidURL,), lambda e, op: OnvifMalformedReply(f"{op}the camera gave a bad URL: {_short(e)}")),
    ((aiohttp.ClientResponseError,), lambda e, op: _from_http_status(e.status, e.message, op)),
    ((httpx.HTTPStatusError,), lambda e, op: _from_http_status(e.response.status_code, e, op)),
    (UNREACHABLE_ERRORS, lambda e, op: OnvifUnreachable(f"{op}unreachable: {_short(e) or type(e).__name__}")),
)


def mapper_for(exc_type: type[BaseException]) -> _Mapper | None:
    """The mapping that handles ``exc_type``, or None (the coverage test asserts there is one)."""
    for types, mapper in _MAPPING:
        if issubclass(exc_type, types):
            return mapper
    return None


def _map(err: Exception, op: str) -> OnvifError:
    mapper = mapper_for(type(err))
    if mapper is None:
        raise TypeError(
            f"no ONVIF error mapping for {type(err).__module__}.{type(err).__qualname__}"
        ) from err
    return mapper(err, op)


def map_onvif_error(err: Exception, *, camera: str | None = None, operation: str | None = None) -> OnvifError:
    """The adapter's error for one of :data:`ONVIF_ERRORS` (TypeError for anything else: a bug)."""
    mapped = _map(err, f"{operation}: " if operation else "")
    mapped.camera = camera
    return mapped
