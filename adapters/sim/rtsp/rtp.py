"""RTP packetization of H.264 (RFC 6184, mode 1), H.265 (RFC 7798) and RTCP sender reports (RFC 3550).

Pure functions over bytes. Payloads are computed once per access unit and shared by every client
of a camera stream; each client then adds its own header (sequence numbers and SSRC are per
session, as on real cameras).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

RTP_VERSION = 2
H264_PAYLOAD_TYPE = 96
DEFAULT_MTU_PAYLOAD = 1400
FU_A = 28
HEVC_FU = 49
RTCP_SR = 200
RTCP_SDES = 202
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01

RtpPayload = tuple[bytes, bool]  # (payload, marker)


def packetize_h264(nals: Sequence[bytes], mtu_payload: int = DEFAULT_MTU_PAYLOAD) -> list[RtpPayload]:
    """Payloads for one access unit: single NAL unit packets, or FU-A fragments for large NALs.

    The marker bit is set on the last packet of the access unit only (RFC 6184 §5.1).
    """
    if mtu_payload < 3:
        raise ValueError(f"MTU payload too small for FU-A: {mtu_payload}")
    payloads: list[bytes] = []
    for nal in nals:
        if not nal:
            raise ValueError("empty NAL unit")
        if len(nal) <= mtu_payload:
            payloads.append(nal)
            continue
        indicator = (nal[0] & 0xE0) | FU_A  # F and NRI from the NAL header
        kind = nal[0] & 0x1F
        body = nal[1:]
        step = mtu_payload - 2
        for start in range(0, len(body), step):
            fu_header = kind
            if start == 0:
                fu_header |= 0x80  # S
            if start + step >= len(body):
                fu_header |= 0x40  # E
            payloads.append(bytes((indicator, fu_header)) + body[start : start + step])
    return [(payload, i == len(payloads) - 1) for i, payload in enumerate(payloads)]


def packetize_h265(nals: Sequence[bytes], mtu_payload: int = DEFAULT_MTU_PAYLOAD) -> list[RtpPayload]:
    """Payloads for one H.265 access unit: single NAL unit packets, or FUs (type 49) for large NALs.

    No aggregation packets and no DONL (``sprop-max-don-diff`` is 0). The marker bit is set on the
    last packet of the access unit only (RFC 7798 §4.1).
    """
    if mtu_payload < 4:
        raise ValueError(f"MTU payload too small for an H.265 FU: {mtu_payload}")
    payloads: list[bytes] = []
    for nal in nals:
        if len(nal) < 3:
            raise ValueError(f"H.265 NAL unit too short: {len(nal)} bytes")
        if len(nal) <= mtu_payload:
            payloads.append(nal)
            continue
        # PayloadHdr: F and LayerId/TID from the NAL header, Type 49.
        payload_header = bytes(((nal[0] & 0x81) | (HEVC_FU << 1), nal[1]))
        kind = (nal[0] >> 1) & 0x3F
        body = nal[2:]
        step = mtu_payload - 3
        for start in range(0, len(body), step):
            fu_header = kind
            if start == 0:
                fu_header |= 0x80  # S
            if start + step >= len(body):
                fu_header |= 0x40  # E
            payloads.append(payload_header + bytes((fu_header,)) + body[start : start + step])
    return [(payload, i == len(payloads) - 1) for i, payload in enumerate(payloads)]


def packetize(codec: str, nals: Sequence[bytes], mtu_payload: int = DEFAULT_MTU_PAYLOAD) -> list[RtpPayload]:
    """Payloads for one access unit of ``codec`` ("h264" or "hevc")."""
    if codec == "h264":
        return packetize_h264(nals, mtu_payload)
    if codec == "hevc":
        return packetize_h265(nals, mtu_payload)
    raise ValueError(f"no RTP packetization for codec {codec!r}")


def build_rtp_header(
    *, seq: int, timestamp: int, ssrc: int, marker: bool, payload_type: int = H264_PAYLOAD_TYPE
) -> bytes:
    """A 12-byte RTP header (no CSRC, no extension); ``seq`` and ``timestamp`` wrap."""
    first = RTP_VERSION << 6
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    return struct.pack("!BBHII", first, second, seq % 65536, timestamp % 2**32, ssrc % 2**32)


@dataclass(frozen=True, slots=True)
class RtpHeader:
    version: int
    padding: bool
    extension: bool
    csrc_count: int
    marker: bool
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int


def parse_rtp_header(packet: bytes) -> RtpHeader:
    """Parse the fixed 12-byte RTP header."""
    if len(packet) < 12:
        raise ValueError(f"RTP packet too short: {len(packet)} bytes")
    first, second, seq, timestamp, ssrc = struct.unpack("!BBHII", packet[:12])
    if first >> 6 != RTP_VERSION:
        raise ValueError(f"unsupported RTP version: {first >> 6}")
    return RtpHeader(
        version=first >> 6,
        padding=bool(first & 0x20),
        extension=bool(first & 0x10),
        csrc_count=first & 0x0F,
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        seq=seq,
        timestamp=timestamp,
        ssrc=ssrc,
    )


class RtpSequencer:
    """Per-session RTP state: SSRC, next sequence number and the counters RTCP reports."""

    def __init__(self, *, ssrc: int, first_seq: int) -> None:
        self.ssrc = ssrc
        self.seq = first_seq % 65536
        self.packet_count = 0
        self.octet_count = 0

    def packets(self, payloads: Sequence[RtpPayload], timestamp: int) -> list[bytes]:
        out: list[bytes] = []
        for payload, marker in payloads:
            header = build_rtp_header(seq=self.seq, timestamp=timestamp, ssrc=self.ssrc, marker=marker)
            out.append(header + payload)
            self.seq = (self.seq + 1) % 65536
            self.packet_count += 1
            self.octet_count += len(payload)
        return out


def build_sender_report(
    *, ssrc: int, wallclock: float, rtp_timestamp: int, packet_count: int, octet_count: int, cname: str
) -> bytes:
    """A compound RTCP packet: SR (no report blocks) followed by SDES with a CNAME (RFC 3550 §6.1).

    FFmpeg maps the NTP time to the RTP timestamp to give clients wall-clock sync.
    """
    ntp = wallclock + NTP_EPOCH_OFFSET
    seconds = int(ntp)
    fraction = int((ntp - seconds) * 2**32) % 2**32
    sr = struct.pack(
        "!BBHIIIIII",
        RTP_VERSION << 6,
        RTCP_SR,
        6,  # length in 32-bit words minus one
        ssrc % 2**32,
        seconds % 2**32,
        fraction,
        rtp_timestamp % 2**32,
        packet_count % 2**32,
        octet_count % 2**32,
    )
    name = cname.encode()[:255]
    chunk = struct.pack("!IBB", ssrc % 2**32, 1, len(name)) + name + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = struct.pack("!BBH", (RTP_VERSION << 6) | 1, RTCP_SDES, (4 + len(chunk)) // 4 - 1) + chunk
    return sr + sdes


def interleave(channel: int, data: bytes) -> bytes:
    """Frame an RTP/RTCP packet for RTSP over TCP (RFC 2326 §10.12)."""
    if len(data) > 0xFFFF:
        raise ValueError(f"interleaved packet too large: {len(data)} bytes")
    return struct.pack("!cBH", b"$", channel, len(data)) + data
