"""SDP for DESCRIBE."""

from __future__ import annotations

import pytest

from adapters.sim.rtsp.sdp import build_h264_sdp, build_h265_sdp, build_video_sdp, profile_level_id

SPS = bytes.fromhex("67640016acb405017fcb08000003000800000300a078b175")
PPS = bytes.fromhex("68ef0fcb")


def test_sdp_for_h264_track() -> None:
    sdp = build_h264_sdp(sps=SPS, pps=PPS, fps=10.0, session_id=42, origin_address="127.0.0.1")
    assert sdp.split("\r\n") == [
        "v=0",
        "o=- 42 1 IN IP4 127.0.0.1",
        "s=Sharp Eyes camera simulator",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        "m=video 0 RTP/AVP 96",
        "a=rtpmap:96 H264/90000",
        "a=fmtp:96 packetization-mode=1;profile-level-id=640016;"
        "sprop-parameter-sets=Z2QAFqy0BQF/ywgAAAMACAAAAwCgeLF1,aO8Pyw==",
        "a=framerate:10",
        "a=control:trackID=0",
        "",
    ]


def test_profile_level_id_errors() -> None:
    assert profile_level_id(SPS) == "640016"
    with pytest.raises(ValueError, match=r"^SPS too short: 3 bytes$"):
        profile_level_id(SPS[:3])
    with pytest.raises(ValueError, match=r"^not an SPS: NAL type 8$"):
        profile_level_id(PPS + b"\x00")
    with pytest.raises(ValueError, match=r"^empty PPS$"):
        build_h264_sdp(sps=SPS, pps=b"", fps=10, session_id=1)


VPS = bytes.fromhex("40010c01ffff016000000300900000030000030078959809")
HEVC_SPS = bytes.fromhex(
    "420101016000000300900000030000030078a00502016965959a4932bc05a80808082000000300200000030321"
)
HEVC_PPS = bytes.fromhex("4401c172b46240")


def test_sdp_for_h265_track() -> None:
    sdp = build_h265_sdp(vps=VPS, sps=HEVC_SPS, pps=HEVC_PPS, fps=25, session_id=7)
    lines = sdp.split("\r\n")
    assert lines[6:] == [
        "m=video 0 RTP/AVP 96",
        "a=rtpmap:96 H265/90000",
        "a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwB4lZgJ;"
        "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwB4oAUCAWlllZpJMrwFqAgICCAAAAMAIAAAAwMh;sprop-pps=RAHBcrRiQA==",
        "a=framerate:25",
        "a=control:trackID=0",
        "",
    ]
    assert (
        build_video_sdp(codec="hevc", parameter_sets=(VPS, HEVC_SPS, HEVC_PPS), fps=25, session_id=7) == sdp
    )
    assert build_video_sdp(codec="h264", parameter_sets=(SPS, PPS), fps=10, session_id=42) == build_h264_sdp(
        sps=SPS, pps=PPS, fps=10, session_id=42
    )


@pytest.mark.parametrize(
    ("vps", "sps", "pps", "message"),
    [
        (VPS[:2], HEVC_SPS, HEVC_PPS, "H.265 VPS too short: 2 bytes"),
        (VPS, HEVC_PPS, HEVC_PPS, "not an H.265 SPS: NAL type 34"),
        (VPS, HEVC_SPS, VPS, "not an H.265 PPS: NAL type 32"),
    ],
)
def test_h265_sdp_errors(vps: bytes, sps: bytes, pps: bytes, message: str) -> None:
    with pytest.raises(ValueError) as info:
        build_h265_sdp(vps=vps, sps=sps, pps=pps, fps=25, session_id=1)
    assert str(info.value) == message


def test_video_sdp_needs_the_codec_parameter_sets() -> None:
    with pytest.raises(ValueError, match=r"^no SDP for codec 'hevc' with 2 parameter sets$"):
        build_video_sdp(codec="hevc", parameter_sets=(SPS, PPS), fps=10, session_id=1)
