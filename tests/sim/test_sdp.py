"""SDP for DESCRIBE."""

from __future__ import annotations

import pytest

from adapters.sim.rtsp.sdp import build_h264_sdp, profile_level_id

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
