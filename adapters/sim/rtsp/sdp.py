"""SDP for DESCRIBE (RFC 4566; H.264 parameters per RFC 6184 §8, H.265 per RFC 7798 §7)."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from adapters.sim.rtsp.rtp import H264_PAYLOAD_TYPE

SESSION_NAME = "Sharp Eyes camera simulator"


def profile_level_id(sps: bytes) -> str:
    """The six hex digits of ``profile-level-id``: profile_idc, constraint flags, level_idc."""
    if len(sps) < 4:
        raise ValueError(f"SPS too short: {len(sps)} bytes")
    if sps[0] & 0x1F != 7:
        raise ValueError(f"not an SPS: NAL type {sps[0] & 0x1F}")
    return sps[1:4].hex().upper()


def _b64(nal: bytes) -> str:
    return base64.b64encode(nal).decode("ascii")


def _session_lines(
    session_id: int, session_version: int, origin_address: str, session_name: str
) -> list[str]:
    return [
        "v=0",
        f"o=- {session_id} {session_version} IN IP4 {origin_address}",
        f"s={session_name}",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
    ]


def build_h264_sdp(
    *,
    sps: bytes,
    pps: bytes,
    fps: float,
    session_id: int,
    session_version: int = 1,
    origin_address: str = "127.0.0.1",
    session_name: str = SESSION_NAME,
    control: str = "trackID=0",
) -> str:
    """The session description of one H.264 video track, CRLF line endings."""
    if not pps:
        raise ValueError("empty PPS")
    sprop = ",".join(_b64(nal) for nal in (sps, pps))
    pt = H264_PAYLOAD_TYPE
    lines = [
        *_session_lines(session_id, session_version, origin_address, session_name),
        f"m=video 0 RTP/AVP {pt}",
        f"a=rtpmap:{pt} H264/90000",
        f"a=fmtp:{pt} packetization-mode=1;profile-level-id={profile_level_id(sps)};"
        f"sprop-parameter-sets={sprop}",
        f"a=framerate:{fps:g}",
        f"a=control:{control}",
    ]
    return "\r\n".join(lines) + "\r\n"


def build_h265_sdp(
    *,
    vps: bytes,
    sps: bytes,
    pps: bytes,
    fps: float,
    session_id: int,
    session_version: int = 1,
    origin_address: str = "127.0.0.1",
    session_name: str = SESSION_NAME,
    control: str = "trackID=0",
) -> str:
    """The session description of one H.265 video track, CRLF line endings."""
    for name, nal, kind in (("VPS", vps, 32), ("SPS", sps, 33), ("PPS", pps, 34)):
        if len(nal) < 3:
            raise ValueError(f"H.265 {name} too short: {len(nal)} bytes")
        if (nal[0] >> 1) & 0x3F != kind:
            raise ValueError(f"not an H.265 {name}: NAL type {(nal[0] >> 1) & 0x3F}")
    pt = H264_PAYLOAD_TYPE
    lines = [
        *_session_lines(session_id, session_version, origin_address, session_name),
        f"m=video 0 RTP/AVP {pt}",
        f"a=rtpmap:{pt} H265/90000",
        f"a=fmtp:{pt} sprop-vps={_b64(vps)};sprop-sps={_b64(sps)};sprop-pps={_b64(pps)}",
        f"a=framerate:{fps:g}",
        f"a=control:{control}",
    ]
    return "\r\n".join(lines) + "\r\n"


def build_video_sdp(
    *,
    codec: str,
    parameter_sets: Sequence[bytes],
    fps: float,
    session_id: int,
    origin_address: str = "127.0.0.1",
    control: str = "trackID=0",
) -> str:
    """The SDP of one track of ``codec``: ``parameter_sets`` is (SPS, PPS) or (VPS, SPS, PPS)."""
    if codec == "h264" and len(parameter_sets) == 2:
        sps, pps = parameter_sets
        return build_h264_sdp(
            sps=sps, pps=pps, fps=fps, session_id=session_id, origin_address=origin_address, control=control
        )
    if codec == "hevc" and len(parameter_sets) == 3:
        vps, sps, pps = parameter_sets
        return build_h265_sdp(
            vps=vps,
            sps=sps,
            pps=pps,
            fps=fps,
            session_id=session_id,
            origin_address=origin_address,
            control=control,
        )
    raise ValueError(f"no SDP for codec {codec!r} with {len(parameter_sets)} parameter sets")
