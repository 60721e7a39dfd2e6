"""The reply parsers on zeep-shaped objects, including the None fields lenient parsing leaves behind."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import pytest

from adapters.onvif.errors import OnvifMalformedReply
from adapters.onvif.models import (
    DeviceInfo,
    MediaProfile,
    PtzPosition,
    parse_device_info,
    parse_media_uri,
    parse_position,
    parse_profiles,
    strip_credentials,
)


def _profile(
    token: str | None, width: int | None = 1920, height: int | None = 1080, encoder: bool = True
) -> Any:
    resolution = NS(Width=width, Height=height)
    rate = NS(FrameRateLimit=25, BitrateLimit=4096)
    video = NS(Encoding="H265", Resolution=resolution, RateControl=rate) if encoder else None
    return NS(token=token, Name=f"{token} profile", VideoEncoderConfiguration=video)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("rtsp://10.0.0.9:554/Streaming/101", "rtsp://10.0.0.9:554/Streaming/101"),
        ("rtsp://admin:p%40ss@10.0.0.9:554/live", "rtsp://10.0.0.9:554/live"),
        ("rtsp://admin@[fe80::1]:554/live", "rtsp://[fe80::1]:554/live"),
        (
            "http://10.0.0.9/cgi-bin/snapshot.cgi?channel=1&user=admin&password=s3cret",
            "http://10.0.0.9/cgi-bin/snapshot.cgi?channel=1",
        ),
        ("http://10.0.0.9/snap.jpg?PWD=x&USER=y", "http://10.0.0.9/snap.jpg"),
    ],
)
def test_strip_credentials(uri: str, expected: str) -> None:
    assert strip_credentials(uri) == expected


def test_device_info() -> None:
    reply = NS(
        Manufacturer="Axis", Model="P3245", FirmwareVersion="10.12", SerialNumber="ACCC8E", HardwareId=None
    )
    assert parse_device_info(reply) == DeviceInfo("Axis", "P3245", "10.12", "ACCC8E", "")
    with pytest.raises(OnvifMalformedReply) as info:
        parse_device_info(NS(Manufacturer="Axis", Model=" ", FirmwareVersion="1", SerialNumber="2"))
    assert str(info.value) == "GetDeviceInformation: no Model"


def test_profiles_skip_audio_only_and_read_the_encoder() -> None:
    profiles = parse_profiles([_profile("audio", encoder=False), _profile("p1")])
    assert profiles == [MediaProfile("p1", "p1 profile", "H265", 1920, 1080, 25.0, 4096, "")]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, "GetProfiles: no profiles"),
        ([], "GetProfiles: no profiles"),
        ([_profile(None)], "GetProfiles: profile 0: no token"),
        ([_profile("p1", width=None)], "GetProfiles: profile 'p1': no VideoEncoderConfiguration.Resolution"),
        ([_profile("p1", height=0)], "GetProfiles: profile 'p1': no VideoEncoderConfiguration.Resolution"),
        ([_profile("a", encoder=False)], "GetProfiles: no profile has a VideoEncoderConfiguration"),
    ],
)
def test_broken_profiles(reply: Any, message: str) -> None:
    with pytest.raises(OnvifMalformedReply) as info:
        parse_profiles(reply)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, "GetStreamUri for profile 'p1': no Uri"),
        (NS(Uri=None, Timeout=None), "GetStreamUri for profile 'p1': no Uri"),
        (NS(Uri="http://10.0.0.9/live"), "GetStreamUri for profile 'p1': http scheme, not rtsp"),
        (NS(Uri="/live"), "GetStreamUri for profile 'p1': no scheme, not rtsp"),
    ],
)
def test_broken_stream_uri(reply: Any, message: str) -> None:
    with pytest.raises(OnvifMalformedReply) as info:
        parse_media_uri(reply, "GetStreamUri", "p1", ("rtsp", "rtsps"))
    assert str(info.value) == message


def test_position_from_a_vector_and_from_a_status() -> None:
    vector = NS(PanTilt=NS(x=0.5, y=-0.25), Zoom=NS(x=1.0))
    assert parse_position(vector) == PtzPosition(0.5, -0.25, 1.0)
    status = NS(
        Position=NS(PanTilt=None, Zoom=NS(x="0.3")),
        MoveStatus=NS(PanTilt="IDLE", Zoom="MOVING"),
        UtcTime=None,
    )
    assert parse_position(status) == PtzPosition(None, None, 0.3, moving=True)
