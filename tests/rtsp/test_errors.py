"""Credentials never leak from URLs or FFmpeg messages; PyAV errors map once to the source errors."""

from __future__ import annotations

import av.error
import pytest

from adapters.rtsp.errors import AUTH_ERRORS, STALL_ERRORS, map_av_error, redact_url, scrub
from adapters.source import SourceError, SourceStalled, SourceUnauthorized

SAFE = "rtsp://admin:***@cam:554/s"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:pw@10.0.0.5:554/Streaming/101", "rtsp://admin:***@10.0.0.5:554/Streaming/101"),
        ("rtsp://admin:pw@cam/s?channel=1", "rtsp://admin:***@cam/s?channel=1"),
        ("rtsp://admin@cam/s", "rtsp://admin:***@cam/s"),
        ("rtsp://admin:p@ss@cam:554/s", "rtsp://admin:***@cam:554/s"),  # a raw @ in the password
        ("rtsp://admin:pw@[fe80::1]:554/s", "rtsp://admin:***@[fe80::1]:554/s"),
        ("rtsp://admin:pw@CAM.local/s", "rtsp://admin:***@CAM.local/s"),
        ("rtsp://cam:554/s", "rtsp://cam:554/s"),
        ("/srv/clips/a.mp4", "/srv/clips/a.mp4"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rtsp://admin:pw@10.0.0.5/s: Server returned 401 Unauthorized",
            "rtsp://***@10.0.0.5/s: Server returned 401 Unauthorized",
        ),
        ("open rtsp://a:x@h1/y and rtsp://b:z@h2/y", "open rtsp://***@h1/y and rtsp://***@h2/y"),
        ("rtsp://admin:p@ss@cam:554/s failed", "rtsp://***@cam:554/s failed"),
        ("rtsp://cam/s: Connection refused", "rtsp://cam/s: Connection refused"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_unauthorized_keeps_credentials_apart() -> None:
    err = av.error.HTTPUnauthorizedError(1, "Server returned 401 Unauthorized (authorization failed)")
    mapped = map_av_error(err, SAFE)
    assert type(mapped) is SourceUnauthorized
    assert str(mapped) == (
        f"{SAFE}: camera refused the credentials (Server returned 401 Unauthorized (authorization failed))"
    )


def test_forbidden_is_unauthorized() -> None:
    mapped = map_av_error(av.error.HTTPForbiddenError(1, "Server returned 403 Forbidden"), SAFE)
    assert type(mapped) is SourceUnauthorized


@pytest.mark.parametrize(
    "err",
    [av.error.ExitError(1414092869, "Immediate exit requested"), TimeoutError()],
    ids=["exit", "timeout"],
)
def test_time_outs_are_stalls(err: BaseException) -> None:
    mapped = map_av_error(err, SAFE)
    assert type(mapped) is SourceStalled
    assert str(mapped) == f"{SAFE}: no data (time-out)"


@pytest.mark.parametrize(
    "err",
    [ConnectionRefusedError(111, "Connection refused"), av.error.FFmpegError(111, "Connection refused")],
    ids=["oserror", "ffmpeg"],
)
def test_connection_refused(err: BaseException) -> None:
    mapped = map_av_error(err, SAFE)
    assert type(mapped) is SourceError
    assert str(mapped) == f"{SAFE}: connection refused"


def test_other_errors_keep_their_reason_scrubbed() -> None:
    err = av.error.InvalidDataError(1, "Invalid data found when processing input: rtsp://admin:pw@cam/s")
    mapped = map_av_error(err, SAFE)
    assert type(mapped) is SourceError
    assert str(mapped) == f"{SAFE}: Invalid data found when processing input: rtsp://***@cam/s"
    assert "pw" not in str(mapped)


@pytest.mark.parametrize("kind", AUTH_ERRORS)
def test_every_auth_error_has_its_mapping(kind: type[av.error.FFmpegError]) -> None:
    assert type(map_av_error(kind(1, "denied"), SAFE)) is SourceUnauthorized


@pytest.mark.parametrize("kind", STALL_ERRORS)
def test_every_stall_error_has_its_mapping(kind: type[Exception]) -> None:
    err = kind(1414092869, "Immediate exit requested") if issubclass(kind, av.error.FFmpegError) else kind()
    assert type(map_av_error(err, SAFE)) is SourceStalled
