"""RFC 6184 packetization, RTP headers and RTCP sender reports."""

from __future__ import annotations

import struct

import pytest

from adapters.sim.rtsp.rtp import (
    FU_A,
    HEVC_FU,
    RtpSequencer,
    build_rtp_header,
    build_sender_report,
    interleave,
    packetize,
    packetize_h264,
    packetize_h265,
    parse_rtp_header,
)


def test_small_nals_are_single_nal_packets_with_marker_on_last_only() -> None:
    nals = [b"\x67" + b"s" * 10, b"\x68" + b"p" * 3, b"\x65" + b"i" * 100]
    payloads = packetize_h264(nals, mtu_payload=200)
    assert payloads == [(nals[0], False), (nals[1], False), (nals[2], True)]


def test_large_nal_is_fragmented_as_fu_a() -> None:
    nal = bytes([0x65]) + bytes(range(256)) * 10  # IDR slice, NRI 3, 2561 bytes
    payloads = packetize_h264([nal], mtu_payload=1000)
    assert [len(p) for p, _ in payloads] == [1000, 1000, 2 + 2560 - 2 * 998]
    assert [marker for _, marker in payloads] == [False, False, True]
    indicators = {p[0] for p, _ in payloads}
    assert indicators == {0x60 | FU_A}  # F=0, NRI=3 copied, type 28
    headers = [p[1] for p, _ in payloads]
    assert headers == [0x80 | 5, 5, 0x40 | 5]  # S on first, E on last, type 5
    assert nal[:1] + b"".join(p[2:] for p, _ in payloads) == nal


def test_fragment_exactly_filling_the_last_packet_gets_the_end_bit() -> None:
    nal = b"\x41" + b"x" * 20  # 20 body bytes, 10 per fragment
    payloads = packetize_h264([nal, nal], mtu_payload=12)
    assert [p[1] for p, _ in payloads] == [0x81, 0x41, 0x81, 0x41]
    assert [m for _, m in payloads] == [False, False, False, True]


def test_packetize_rejects_empty_nal_and_tiny_mtu() -> None:
    with pytest.raises(ValueError, match=r"^empty NAL unit$"):
        packetize_h264([b""])
    with pytest.raises(ValueError, match=r"^MTU payload too small for FU-A: 2$"):
        packetize_h264([b"\x65"], mtu_payload=2)


def test_rtp_header_layout_and_wrap() -> None:
    header = build_rtp_header(seq=65536 + 7, timestamp=2**32 + 5, ssrc=0xDEADBEEF, marker=True)
    assert header == bytes([0x80, 0x80 | 96]) + struct.pack("!HII", 7, 5, 0xDEADBEEF)
    parsed = parse_rtp_header(header + b"payload")
    assert (parsed.version, parsed.marker, parsed.payload_type) == (2, True, 96)
    assert (parsed.seq, parsed.timestamp, parsed.ssrc) == (7, 5, 0xDEADBEEF)


def test_sequencer_wraps_at_65536_and_counts() -> None:
    sequencer = RtpSequencer(ssrc=1, first_seq=65534)
    packets = sequencer.packets([(b"a", False), (b"bb", False), (b"ccc", True)], timestamp=90)
    assert [parse_rtp_header(p).seq for p in packets] == [65534, 65535, 0]
    assert [parse_rtp_header(p).marker for p in packets] == [False, False, True]
    assert (sequencer.seq, sequencer.packet_count, sequencer.octet_count) == (1, 3, 6)


def test_parse_rtp_header_errors() -> None:
    with pytest.raises(ValueError, match=r"^RTP packet too short: 11 bytes$"):
        parse_rtp_header(bytes(11))
    with pytest.raises(ValueError, match=r"^unsupported RTP version: 1$"):
        parse_rtp_header(bytes([0x40]) + bytes(11))


def test_sender_report_layout() -> None:
    report = build_sender_report(
        ssrc=0x01020304, wallclock=0.5, rtp_timestamp=1234, packet_count=10, octet_count=999, cname="cam"
    )
    first, pt, length, ssrc, ntp_s, ntp_f, rtp, count, octets = struct.unpack("!BBHIIIIII", report[:28])
    assert (first, pt, length, ssrc) == (0x80, 200, 6, 0x01020304)
    assert (ntp_s, ntp_f) == (2_208_988_800, 2**31)
    assert (rtp, count, octets) == (1234, 10, 999)
    sdes = report[28:]
    assert sdes[:2] == bytes([0x81, 202])
    assert (struct.unpack("!H", sdes[2:4])[0] + 1) * 4 == len(sdes)
    assert sdes[8:13] == b"\x01\x03cam"


def test_interleave() -> None:
    assert interleave(1, b"abc") == b"$\x01\x00\x03abc"
    with pytest.raises(ValueError, match=r"^interleaved packet too large: 65536 bytes$"):
        interleave(0, bytes(65536))


def test_h265_small_nals_are_single_nal_packets() -> None:
    vps, sps, idr = b"\x40\x01" + b"v" * 10, b"\x42\x01" + b"s" * 20, b"\x28\x01" + b"i" * 100
    assert packetize_h265([vps, sps, idr], mtu_payload=200) == [(vps, False), (sps, False), (idr, True)]
    assert packetize("hevc", [idr]) == [(idr, True)]


def test_large_h265_nal_is_fragmented_as_fu() -> None:
    nal = b"\x28\x01" + bytes(range(256)) * 10  # IDR_N_LP (type 20), layer 0, TID 1: 2562 bytes
    payloads = packetize_h265([nal], mtu_payload=1000)
    assert [len(p) for p, _ in payloads] == [1000, 1000, 3 + 2560 - 2 * 997]
    assert [marker for _, marker in payloads] == [False, False, True]
    assert {p[:2] for p, _ in payloads} == {bytes([HEVC_FU << 1, 0x01])}  # PayloadHdr: type 49, TID kept
    assert [p[2] for p, _ in payloads] == [0x80 | 20, 20, 0x40 | 20]  # S, -, E with FuType 20
    assert nal[:2] + b"".join(p[3:] for p, _ in payloads) == nal


def test_packetize_h265_errors() -> None:
    with pytest.raises(ValueError, match=r"^H.265 NAL unit too short: 2 bytes$"):
        packetize_h265([b"\x28\x01"])
    with pytest.raises(ValueError, match=r"^MTU payload too small for an H.265 FU: 3$"):
        packetize_h265([b"\x28\x01\x00"], mtu_payload=3)
    with pytest.raises(ValueError, match=r"^no RTP packetization for codec 'vp8'$"):
        packetize("vp8", [b"\x00"])
