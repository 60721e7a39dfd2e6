"""SDP for DESCRIBE (RFC 4566, H.264 parameters per RFC 6184 §8)."""

from __future__ import annotations

import base64

from adapters.sim.rtsp.rtp import H264_PAYLOAD_TYPE


def profile_level_id(sps: bytes) -> str:
    """The six hex digits of ``profile-level-id``: profile_idc, constraint flags, level_idc."""
    if len(sps) < 4:
        raise ValueError(f"SPS too short: {len(sps)} bytes")
    if sps[0] & 0x1F != 7:
        raise ValueError(f"not an SPS: NAL type {sps[0] & 0x1F}")
    return sps[1:4].hex().upper()


def build_h264_sdp(
    *,
    sps: bytes,
    pps: bytes,
    fps: float,
    session_id: int,
    session_version: int = 1,
    origin_address: str = "127.0.0.1",
    session_name: str = "Sharp Eyes camera simulator",
    control: str = "trackID=0",
) -> str:
    """The session description of one H.264 video track, CRLF line endings."""
    if not pps:
        raise ValueError("empty PPS")
    sprop = ",".join(base64.b64encode(nal).decode("ascii") for nal in (sps, pps))
    pt = H264_PAYLOAD_TYPE
    lines = [
        "v=0",
        f"o=- {session_id} {session_version} IN IP4 {origin_address}",
        f"s={session_name}",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        f"m=video 0 RTP/AVP {pt}",
        f"a=rtpmap:{pt} H264/90000",
        f"a=fmtp:{pt} packetization-mode=1;profile-level-id={profile_level_id(sps)};"
        f"sprop-parameter-sets={sprop}",
        f"a=framerate:{fps:g}",
        f"a=control:{control}",
    ]
    return "\r\n".join(lines) + "\r\n"
