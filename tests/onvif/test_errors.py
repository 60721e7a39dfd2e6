"""map_onvif_error: every exception the adapter catches has a mapping, and each lands where it should."""

from __future__ import annotations

import inspect
from types import ModuleType

import aiohttp
import httpx
import onvif.exceptions
import pytest
import zeep.exceptions
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs

from adapters.onvif.errors import (
    ONVIF_ERRORS,
    CameraStatus,
    OnvifClockSkew,
    OnvifError,
    OnvifFault,
    OnvifMalformedReply,
    OnvifNotSupported,
    OnvifTimeout,
    OnvifUnauthorized,
    OnvifUnreachable,
    map_onvif_error,
    mapper_for,
    status_for,
)

TER = "http://www.onvif.org/ver10/error"


def _exceptions(module: ModuleType, base: type[BaseException]) -> list[type[BaseException]]:
    return [c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, base)]


LIBRARY_EXCEPTIONS = sorted(
    {
        *_exceptions(zeep.exceptions, zeep.exceptions.Error),
        *_exceptions(aiohttp, aiohttp.ClientError),
        *_exceptions(httpx, httpx.HTTPError),
        *_exceptions(onvif.exceptions, onvif.exceptions.ONVIFError),
        *ONVIF_ERRORS,
    },
    key=lambda c: f"{c.__module__}.{c.__qualname__}",
)


@pytest.mark.parametrize("exc_type", LIBRARY_EXCEPTIONS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_library_exception_is_caught_and_mapped(exc_type: type[BaseException]) -> None:
    assert issubclass(exc_type, ONVIF_ERRORS), "callers catching ONVIF_ERRORS would miss it"
    assert mapper_for(exc_type) is not None, "map_onvif_error has no mapping for it"


def test_anything_else_is_a_bug() -> None:
    assert mapper_for(KeyError) is None
    with pytest.raises(TypeError) as info:
        map_onvif_error(KeyError("x"))
    assert str(info.value) == "no ONVIF error mapping for builtins.KeyError"


def _fault(message: str, *subcodes: str, code: str = "env:Sender") -> zeep.exceptions.Fault:
    qnames = [etree.QName(TER, s) for s in subcodes]
    return zeep.exceptions.Fault(message, code=code, subcodes=qnames)  # type: ignore[no-untyped-call]


def _transport_error(message: str, status: int) -> zeep.exceptions.TransportError:
    return zeep.exceptions.TransportError(message, status)  # type: ignore[no-untyped-call]


def _parse_error(message: str) -> zeep.exceptions.XMLParseError:
    return zeep.exceptions.XMLParseError(message)  # type: ignore[no-untyped-call]


def _connector_error() -> aiohttp.ClientConnectorError:
    key = aiohttp.client_reqrep.ConnectionKey("10.0.0.9", 80, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connect call failed"))


def _wrapped(cause: Exception) -> onvif.exceptions.ONVIFError:
    try:
        raise onvif.exceptions.ONVIFError(cause) from cause
    except onvif.exceptions.ONVIFError as err:
        return err


@pytest.mark.parametrize(
    ("err", "expected", "reason"),
    [
        (
            _fault("Sender not authorized", "NotAuthorized"),
            OnvifUnauthorized,
            "GetProfiles: credentials refused: Sender not authorized",
        ),
        (  # Hikvision-style: no subcode, only the word in the reason
            _fault("Authority failure"),
            OnvifUnauthorized,
            "GetProfiles: credentials refused: Authority failure",
        ),
        (
            _fault("Sender not authorized: Created is +7200 s off the device clock", "NotAuthorized"),
            OnvifClockSkew,
            "GetProfiles: the camera refused our clock:"
            " Sender not authorized: Created is +7200 s off the device clock",
        ),
        (
            _fault("GetProfiles is not supported", "ActionNotSupported", code="env:Receiver"),
            OnvifNotSupported,
            "GetProfiles: not supported: GetProfiles is not supported",
        ),
        (
            _fault("no profile 'x'", "InvalidArgVal", "NoProfile"),
            OnvifFault,
            "GetProfiles: SOAP fault InvalidArgVal/NoProfile: no profile 'x'",
        ),
        (
            _transport_error("Unauthorized", 401),
            OnvifUnauthorized,
            "GetProfiles: HTTP 401: credentials refused",
        ),
        (
            _transport_error("Not found", 404),
            OnvifNotSupported,
            "GetProfiles: HTTP 404: no such service",
        ),
        (
            _transport_error("Server returned HTTP status 500 (<html>)\nContent: b'<html>'", 500),
            OnvifMalformedReply,
            "GetProfiles: unreadable reply: Server returned HTTP status 500 (<html>)",
        ),
        (
            _parse_error("Unexpected element"),
            OnvifMalformedReply,
            "GetProfiles: unreadable reply: Unexpected element",
        ),
        (TimeoutError(), OnvifTimeout, "GetProfiles: no reply in time"),
        (aiohttp.SocketTimeoutError("read timed out"), OnvifTimeout, "GetProfiles: no reply in time"),
        (httpx.ConnectTimeout("slow"), OnvifTimeout, "GetProfiles: no reply in time"),
        (
            aiohttp.ServerDisconnectedError(),
            OnvifUnreachable,
            "GetProfiles: unreachable: Server disconnected",
        ),
        (
            _connector_error(),
            OnvifUnreachable,
            "GetProfiles: unreachable: Cannot connect to host 10.0.0.9:80 ssl:default [Connect call failed]",
        ),
        (
            ConnectionRefusedError(111, "refused"),
            OnvifUnreachable,
            "GetProfiles: unreachable: [Errno 111] refused",
        ),
        (httpx.ConnectError("refused"), OnvifUnreachable, "GetProfiles: unreachable: refused"),
        (
            aiohttp.InvalidURL("http://[bad"),
            OnvifMalformedReply,
            "GetProfiles: the camera gave a bad URL: http://[bad",
        ),
        (
            _wrapped(aiohttp.ServerDisconnectedError()),
            OnvifUnreachable,
            "GetProfiles: unreachable: Server disconnected",
        ),
        (
            onvif.exceptions.ONVIFError("Device doesn`t support service: ptz with namespace x"),
            OnvifNotSupported,
            "GetProfiles: Device doesn`t support service: ptz with namespace x",
        ),
        (
            onvif.exceptions.ONVIFTimeoutError("snapshot"),
            OnvifTimeout,
            "GetProfiles: timed out: Unknown error: snapshot",
        ),
        (
            onvif.exceptions.ONVIFAuthError("401"),
            OnvifUnauthorized,
            "GetProfiles: credentials refused: Unknown error: 401",
        ),
        (onvif.exceptions.ONVIFError("odd"), OnvifError, "GetProfiles: Unknown error: odd"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else "",
)
def test_mapping(err: Exception, expected: type[OnvifError], reason: str) -> None:
    mapped = map_onvif_error(err, camera="gate", operation="GetProfiles")
    assert type(mapped) is expected
    assert (mapped.reason, mapped.camera, str(mapped)) == (reason, "gate", f"gate: {reason}")


def test_fault_keeps_code_and_subcodes() -> None:
    mapped = map_onvif_error(_fault("no token", "InvalidArgVal", "NoToken"))
    assert isinstance(mapped, OnvifFault)
    assert (mapped.code, mapped.subcodes, str(mapped)) == (
        "env:Sender",
        ("InvalidArgVal", "NoToken"),
        mapped.reason,
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (OnvifUnauthorized("x"), CameraStatus.UNAUTHORIZED),
        (OnvifUnreachable("x"), CameraStatus.OFFLINE),
        (OnvifTimeout("x"), CameraStatus.OFFLINE),
        (OnvifClockSkew("x"), CameraStatus.DEGRADED),
        (OnvifNotSupported("x"), CameraStatus.DEGRADED),
        (OnvifFault("x", code="env:Receiver", subcodes=()), CameraStatus.ERROR),
        (OnvifMalformedReply("x"), CameraStatus.ERROR),
        (OnvifError("x"), CameraStatus.ERROR),
    ],
)
def test_status_for(error: OnvifError, status: CameraStatus) -> None:
    assert status_for(error) is status
    assert status_for(error) == status.value
