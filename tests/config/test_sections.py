"""The checks of each section, on the models directly (no file)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hub.config import (
    ApiSettings,
    CameraConfig,
    HubSettings,
    RecordingSettings,
    StorageSettings,
    WebhookSettings,
)
from hub.config.loader import load_settings
from hub.config.retention import RetentionSettings
from hub.config.storage import ObjectLockMode, bucket_name_problem

BAD_CHARS = (
    "may hold only lowercase letters, digits, '.' and '-', and must start and end with a letter or digit"
)


def _messages(err: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [error["msg"] for error in err.value.errors()]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.5/live", "url must start with rtsp:// or rtsps://, got http://"),
        ("10.0.0.5/live", "url must start with rtsp:// or rtsps://, got no scheme"),
        ("rtsp:///live", "url has no host"),
        ("rtsp://10.0.0.5:99999/live", "url is not a valid URL (Port out of range 0-65535)"),
        ("rtsp://admin:pw@10.0.0.5/live", "url must not hold credentials: put them in username and password"),
        ("", "url is required (rtsp://host[:port]/path)"),
    ],
)
def test_camera_url_problems_name_the_camera(url: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CameraConfig(id="porch", url=url)
    assert _messages(caught) == [f"Value error, camera 'porch': {message}"]


def test_camera_sub_url_is_checked_too() -> None:
    with pytest.raises(ValidationError) as caught:
        CameraConfig(id="porch", url="rtsp://h/main", sub_url="https://h/sub")
    assert _messages(caught) == [
        "Value error, camera 'porch': sub_url must start with rtsp:// or rtsps://, got https://"
    ]


@pytest.mark.parametrize("camera_id", ["Porch", "-porch", "por ch", "p" * 65])
def test_camera_id_must_be_a_slug(camera_id: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CameraConfig(id=camera_id, url="rtsp://h/")
    assert _messages(caught)[0].startswith(f"Value error, camera id {camera_id!r} must be 1 to 64 lowercase")


def test_camera_defaults() -> None:
    camera = CameraConfig(id="cam_1", url="rtsps://h/")
    assert (camera.name, camera.enabled, camera.transport, camera.analysis_fps) == (
        "cam_1",
        True,
        "tcp",
        None,
    )


@pytest.mark.parametrize(("fps", "ok"), [(0.5, True), (30, True), (0.4, False), (31, False)])
def test_camera_analysis_fps_bounds(fps: float, ok: bool) -> None:
    kwargs: dict[str, Any] = {"id": "c", "url": "rtsp://h/", "analysis_fps": fps}
    if ok:
        assert CameraConfig(**kwargs).analysis_fps == fps
    else:
        with pytest.raises(ValidationError):
            CameraConfig(**kwargs)


def test_duplicate_ids_rejected_in_code_too() -> None:
    with pytest.raises(ValidationError) as caught:
        HubSettings(cameras=[CameraConfig(id="a", url="rtsp://h/1"), CameraConfig(id="a", url="rtsp://h/2")])
    [error] = caught.value.errors()
    assert error["loc"] == ("cameras", 1, "id")
    assert error["msg"] == "camera id 'a' is used twice (cameras[0] and cameras[1])"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("sharp-eyes", None),
        ("clips.2025", None),
        ("ab", "must be 3 to 63 characters long"),
        ("Clips", BAD_CHARS),
        ("clips-", BAD_CHARS),
        ("a..b", "must not hold two adjacent periods"),
        ("192.168.5.4", "must not be formatted as an IP address"),
        ("xn--clips", "uses a prefix or suffix that S3 reserves"),
    ],
)
def test_bucket_names(name: str, problem: str | None) -> None:
    assert bucket_name_problem(name) == problem


def test_bucket_is_only_checked_for_the_s3_backend() -> None:
    assert StorageSettings(s3={"bucket": "X"}).s3.bucket == "X"
    with pytest.raises(ValidationError) as caught:
        StorageSettings(backend="s3", s3={"bucket": "X"})
    assert caught.value.errors()[0]["ctx"] == {
        "detail": "bucket name 'X' must be 3 to 63 characters long",
        "at": ("s3", "bucket"),
    }


def test_s3_needs_an_endpoint_without_scheme() -> None:
    with pytest.raises(ValidationError) as caught:
        StorageSettings(backend="s3", s3={"endpoint": "http://minio:9000"})
    assert _messages(caught) == [
        "endpoint must be host:port without a scheme (use secure for https), got 'http://minio:9000'"
    ]
    with pytest.raises(ValidationError) as caught:
        StorageSettings(backend="s3", s3={"endpoint": " "})
    assert _messages(caught) == ["backend s3 needs an endpoint (host:port)"]


def test_ring_buffer_must_exceed_pre_roll() -> None:
    assert RecordingSettings(pre_roll_s=10, ring_buffer_s=12).ring_buffer_s == 12
    with pytest.raises(ValidationError):
        RecordingSettings(pre_roll_s=10, ring_buffer_s=10)


def test_webhook_url_must_be_http() -> None:
    assert WebhookSettings(url="https://grid.example.net/t").url == "https://grid.example.net/t"
    with pytest.raises(ValidationError) as caught:
        WebhookSettings(url="grid.example.net/t")
    assert _messages(caught)[0].startswith("Value error, url must be an http(s) URL (")
    with pytest.raises(ValidationError):
        WebhookSettings(retry_initial_s=10, retry_max_s=5)


def test_public_url() -> None:
    assert ApiSettings(host="::1", port=81).public_url == "http://[::1]:81"
    assert ApiSettings(public_url="https://hub.example.net/").public_url == "https://hub.example.net"
    with pytest.raises(ValidationError):
        ApiSettings(public_url="hub.example.net")


def test_unknown_database_scheme() -> None:
    with pytest.raises(ValidationError) as caught:
        HubSettings(database_url="mysql://h/db")
    assert _messages(caught) == ["Value error, database_url must start with sqlite:// or postgresql://"]


def test_object_lock_is_off_by_default_and_checked() -> None:
    lock = StorageSettings().object_lock
    assert (lock.enabled, lock.mode, lock.days) == (False, ObjectLockMode.GOVERNANCE, 365)
    on = StorageSettings(object_lock={"enabled": True, "mode": "legal_hold"}).object_lock
    assert (on.enabled, on.mode) == (True, ObjectLockMode.LEGAL_HOLD)
    with pytest.raises(ValidationError) as caught:
        StorageSettings(object_lock={"mode": "forever"})
    assert _messages(caught) == ["Input should be 'governance', 'compliance' or 'legal_hold'"]
    with pytest.raises(ValidationError):
        StorageSettings(object_lock={"days": 0})
    with pytest.raises(ValidationError):
        StorageSettings(object_lock={"enabled": True, "retain": 3})  # a typo is an error


def test_quota_is_off_by_default_and_at_least_a_mebibyte() -> None:
    assert RetentionSettings().quota_bytes is None
    assert RetentionSettings(quota_bytes=2**40).quota_bytes == 2**40
    with pytest.raises(ValidationError) as caught:
        RetentionSettings(quota_bytes=1000)
    assert _messages(caught) == ["Input should be greater than or equal to 1048576"]


def test_object_lock_and_quota_from_the_environment() -> None:
    settings = load_settings(
        None,
        env={
            "HUB_STORAGE__OBJECT_LOCK__ENABLED": "true",
            "HUB_STORAGE__OBJECT_LOCK__MODE": "compliance",
            "HUB_STORAGE__OBJECT_LOCK__DAYS": "3650",
            "HUB_RETENTION__QUOTA_BYTES": "1099511627776",
        },
    )
    lock = settings.storage.object_lock
    assert (lock.enabled, lock.mode, lock.days) == (True, ObjectLockMode.COMPLIANCE, 3650)
    assert settings.retention.quota_bytes == 1099511627776
