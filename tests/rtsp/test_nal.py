"""NAL helpers: hand-built byte strings for the edge cases, a real PyAV avcC record for the rest."""

from __future__ import annotations

import av
import pytest

from adapters.rtsp import nal
from tests.fixtures.media import Scene

SPS = b"\x67\x42\xc0\x16\xda"
PPS = b"\x68\xce\x0f\xc8"
IDR_FIRST = b"\x65\x88\x84\x00"  # first_mb_in_slice ue(v) = 0: the single bit "1"
IDR_LATER = b"\x65\x40\x84\x00"  # first_mb_in_slice = 1: bits "010"


def avcc_extradata(scene: Scene) -> bytes:
    with av.open(str(scene.path)) as container:
        extradata = container.streams.video[0].codec_context.extradata
    assert extradata is not None
    return bytes(extradata)


def test_split_annexb_accepts_three_and_four_byte_start_codes() -> None:
    data = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x01" + PPS + b"\x00\x00\x00\x01" + IDR_FIRST
    assert nal.split_annexb(data) == [SPS, PPS, IDR_FIRST]


def test_split_annexb_skips_leading_garbage_and_empty_units() -> None:
    data = b"\xff\x00\x00\x01" + SPS + b"\x00\x00\x01\x00\x00\x01" + PPS
    assert nal.split_annexb(data) == [SPS, PPS]


def test_split_annexb_without_start_code_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^no Annex B start code in packet$"):
        nal.split_annexb(SPS)


def test_split_length_prefixed_four_and_two_byte_lengths() -> None:
    four = b"\x00\x00\x00\x05" + SPS + b"\x00\x00\x00\x04" + PPS
    two = b"\x00\x05" + SPS + b"\x00\x04" + PPS
    assert nal.split_length_prefixed(four) == [SPS, PPS]
    assert nal.split_length_prefixed(two, 2) == [SPS, PPS]


def test_split_length_prefixed_truncated_length() -> None:
    data = b"\x00\x00\x00\x01\xaa\x00\x00"
    with pytest.raises(ValueError, match=r"^truncated NAL length at offset 5$"):
        nal.split_length_prefixed(data)


def test_split_length_prefixed_length_overruns_packet() -> None:
    data = b"\x00\x00\x00\x01\xaa\x00\x00\x00\x09\xbb"
    with pytest.raises(ValueError, match=r"^NAL length 9 at offset 5 overruns the packet$"):
        nal.split_length_prefixed(data)


def test_split_length_prefixed_zero_length() -> None:
    with pytest.raises(ValueError, match=r"^NAL length 0 at offset 0 overruns the packet$"):
        nal.split_length_prefixed(b"\x00\x00\x00\x00\xaa")


def test_length_size_for_avcc_annexb_and_none(single_slice_scene: Scene) -> None:
    avcc = avcc_extradata(single_slice_scene)
    annexb = nal.join_annexb(nal.parameter_sets_from_extradata("h264", avcc))
    assert nal.length_size_for("h264", avcc) == 4
    assert nal.length_size_for("h264", annexb) == 0
    assert nal.length_size_for("h264", None) == 0
    assert nal.length_size_for("h264", b"") == 0


def test_length_size_for_malformed_avcc() -> None:
    with pytest.raises(ValueError, match=r"^malformed h264 extradata \(3 bytes\)$"):
        nal.length_size_for("h264", b"\x01\x42\xc0")


def test_starts_picture_reads_first_mb_in_slice() -> None:
    assert nal.starts_picture("h264", IDR_FIRST) is True
    assert nal.starts_picture("h264", IDR_LATER) is False
    assert nal.starts_picture("h264", b"\x41\x9a") is True  # non-IDR slice, first_mb 0
    assert nal.starts_picture("h264", b"\x41\x20") is False  # non-IDR slice, first_mb 3
    assert nal.starts_picture("h264", SPS) is False  # not a slice, whatever its bits
    assert nal.starts_picture("h264", b"\x65") is False  # header only


def test_starts_picture_hevc_first_slice_segment_flag() -> None:
    idr_w_radl = bytes([19 << 1, 0x01])
    assert nal.starts_picture("hevc", idr_w_radl + b"\x80") is True
    assert nal.starts_picture("hevc", idr_w_radl + b"\x40") is False
    assert nal.starts_picture("hevc", bytes([nal.HEVC_SPS << 1, 0x01, 0x80])) is False


def test_nal_types_and_classes() -> None:
    assert [nal.nal_type("h264", u) for u in (SPS, PPS, IDR_FIRST, b"\x06\x05", b"\x09\xf0")] == [
        7,
        8,
        5,
        6,
        9,
    ]
    assert nal.is_parameter_set("h264", SPS) and nal.is_parameter_set("h264", PPS)
    assert not nal.is_parameter_set("h264", IDR_FIRST)
    assert nal.opens_access_unit("h264", b"\x09\xf0") and nal.opens_access_unit("h264", b"\x06\x05")
    assert not nal.opens_access_unit("h264", IDR_FIRST)
    assert nal.is_vcl("h264", IDR_FIRST) and not nal.is_vcl("h264", SPS)


def test_join_annexb_and_is_annexb() -> None:
    joined = nal.join_annexb([SPS, PPS])
    assert joined == b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS
    assert nal.is_annexb(joined) and nal.is_annexb(b"\x00\x00\x01" + SPS)
    assert not nal.is_annexb(b"\x00\x00\x00\x05" + SPS)


def test_parameter_sets_from_real_avcc_extradata(single_slice_scene: Scene) -> None:
    avcc = avcc_extradata(single_slice_scene)
    sets = nal.parameter_sets_from_extradata("h264", avcc)
    assert [nal.nal_type("h264", u) for u in sets] == [nal.H264_SPS, nal.H264_PPS]
    sps_size = int.from_bytes(avcc[6:8], "big")
    assert sets[0] == avcc[8 : 8 + sps_size]


def test_parameter_sets_from_annexb_extradata_keep_only_parameter_sets(single_slice_scene: Scene) -> None:
    sets = nal.parameter_sets_from_extradata("h264", avcc_extradata(single_slice_scene))
    sprop = nal.join_annexb([*sets, b"\x06\x05\x01\x00"])  # an SEI beside them is ignored
    assert nal.parameter_sets_from_extradata("h264", sprop) == sets
    assert nal.parameter_sets_from_extradata("h264", None) == []


def test_parameter_sets_from_truncated_avcc(single_slice_scene: Scene) -> None:
    truncated = avcc_extradata(single_slice_scene)[:10]
    with pytest.raises(ValueError, match=r"^malformed h264 extradata \(10 bytes\)$"):
        nal.parameter_sets_from_extradata("h264", truncated)


def test_split_before_slice_stops_at_the_first_slice() -> None:
    # A second SPS after the slice belongs to the slice data as far as the scan goes: not read.
    data = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x01" + PPS + b"\x00\x00\x00\x01" + IDR_FIRST
    data += b"\x00\x00\x00\x01" + SPS
    units, offset = nal.split_before_slice("h264", data)
    assert units == [SPS, PPS]
    assert offset == 4 + len(SPS) + 3 + len(PPS) + 4
    assert data[offset:].startswith(IDR_FIRST)


def test_split_before_slice_without_a_slice_returns_every_unit() -> None:
    data = b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS
    assert nal.split_before_slice("h264", data) == ([SPS, PPS], -1)


def test_split_before_slice_skips_garbage_and_empty_units() -> None:
    data = b"\xff\x00\x00\x01\x00\x00\x00\x01" + SPS + b"\x00\x00\x01\x00\x00\x01" + IDR_LATER
    units, offset = nal.split_before_slice("h264", data)
    assert units == [SPS]
    assert data[offset:] == IDR_LATER


def test_split_before_slice_hevc_trail_n_header_is_a_slice() -> None:
    # TRAIL_N (type 0) has a header byte of 0x00: a slice, not an empty unit or a start code.
    vps, trail_n = bytes([nal.HEVC_VPS << 1, 0x01, 0x0C]), b"\x00\x01\x80\x55"
    data = b"\x00\x00\x00\x01" + vps + b"\x00\x00\x00\x01" + trail_n
    assert nal.split_before_slice("hevc", data) == ([vps], 4 + len(vps) + 4)


def test_split_before_slice_without_start_code_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^no Annex B start code in packet$"):
        nal.split_before_slice("h264", IDR_FIRST)
