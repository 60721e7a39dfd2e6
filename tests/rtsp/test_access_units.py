"""Access units from real x264 output, fed the way FFmpeg's RTSP demuxer delivers multi-slice pictures."""

from __future__ import annotations

from dataclasses import dataclass

import av
import pytest

from adapters.rtsp import nal
from adapters.rtsp.access_units import AccessUnit, AccessUnitAssembler, RawPacket
from tests.fixtures.media import Scene


@dataclass(frozen=True, slots=True)
class Demuxed:
    extradata: bytes
    samples: list[tuple[bytes, int, int, bool]]  # AVCC data, pts, dts, keyframe


def demux(scene: Scene) -> Demuxed:
    with av.open(str(scene.path)) as container:
        stream = container.streams.video[0]
        extradata = bytes(stream.codec_context.extradata or b"")
        samples = [
            (bytes(p), int(p.pts), int(p.dts), bool(p.is_keyframe))
            for p in container.demux(stream)
            if p.size and p.pts is not None and p.dts is not None
        ]
    return Demuxed(extradata, samples)


def length_prefixed(*units: bytes) -> bytes:
    return b"".join(len(u).to_bytes(4, "big") + u for u in units)


def per_slice(data: bytes, pts: int, dts: int) -> list[RawPacket]:
    """One packet per NAL unit, all with the picture's pts except the first (``None``)."""
    units = nal.split_length_prefixed(data)
    return [
        RawPacket(length_prefixed(u), None if i == 0 else pts, None if i == 0 else dts, float(i))
        for i, u in enumerate(units)
    ]


def assemble(assembler: AccessUnitAssembler, packets: list[RawPacket]) -> list[AccessUnit]:
    out: list[AccessUnit] = []
    for packet in packets:
        out.extend(assembler.push(packet))
    out.extend(assembler.flush())
    return out


def decode(units: list[AccessUnit]) -> list[tuple[int, int]]:
    """(width, height) of every frame the access units decode to; raises on a decode error."""
    decoder = av.CodecContext.create("h264", "r")
    sizes: list[tuple[int, int]] = []
    for unit in units:
        sizes += [(f.width, f.height) for f in decoder.decode(av.Packet(unit.data))]
    sizes += [(f.width, f.height) for f in decoder.decode(None)]
    return sizes


@pytest.fixture(scope="module")
def multi(multi_slice_scene: Scene) -> Demuxed:
    return demux(multi_slice_scene)


@pytest.fixture(scope="module")
def sliced_units(multi: Demuxed) -> list[AccessUnit]:
    assembler = AccessUnitAssembler("h264", multi.extradata)
    packets = [p for data, pts, dts, _ in multi.samples for p in per_slice(data, pts, dts)]
    return assemble(assembler, packets)


def test_multi_slice_scene_really_has_four_slices_per_picture(multi: Demuxed) -> None:
    slices = [
        sum(nal.is_vcl("h264", u) for u in nal.split_length_prefixed(data)) for data, *_ in multi.samples
    ]
    assert set(slices) == {4}


def test_one_access_unit_per_picture_with_its_pts(multi: Demuxed, sliced_units: list[AccessUnit]) -> None:
    assert len(sliced_units) == len(multi.samples) == 60
    assert [u.pts for u in sliced_units] == [pts for _, pts, _, _ in multi.samples]
    assert [u.dts for u in sliced_units] == [dts for _, _, dts, _ in multi.samples]


def test_keyframes_on_gop_boundaries(multi_slice_scene: Scene, sliced_units: list[AccessUnit]) -> None:
    keyframes = [i for i, u in enumerate(sliced_units) if u.is_keyframe]
    assert keyframes == [0, 20, 40]
    assert multi_slice_scene.gop_frames == 20


def test_every_unit_is_annexb_with_all_four_slices(sliced_units: list[AccessUnit]) -> None:
    for unit in sliced_units:
        units = nal.split_annexb(unit.data)
        slices = [u for u in units if nal.is_vcl("h264", u)]
        assert len(slices) == 4
        assert nal.starts_picture("h264", slices[0])
        assert not any(nal.starts_picture("h264", s) for s in slices[1:])


def test_parameter_sets_in_front_of_every_keyframe(multi: Demuxed, sliced_units: list[AccessUnit]) -> None:
    sps, pps = nal.parameter_sets_from_extradata("h264", multi.extradata)
    for unit in sliced_units:
        units = nal.split_annexb(unit.data)
        if unit.is_keyframe:
            assert units[:2] == [sps, pps]
        else:
            assert not any(nal.is_parameter_set("h264", u) for u in units)


def test_access_units_decode_to_one_frame_each(sliced_units: list[AccessUnit]) -> None:
    assert decode(sliced_units) == [(640, 360)] * 60


def test_keyframe_alone_decodes_without_extradata(sliced_units: list[AccessUnit]) -> None:
    assert decode(sliced_units[20:40]) == [(640, 360)] * 20


def test_whole_samples_give_the_same_units(multi: Demuxed, sliced_units: list[AccessUnit]) -> None:
    assembler = AccessUnitAssembler("h264", multi.extradata)
    whole = assemble(assembler, [RawPacket(d, pts, dts, 0.0) for d, pts, dts, _ in multi.samples])
    assert [(u.data, u.pts, u.is_keyframe) for u in whole] == [
        (u.data, u.pts, u.is_keyframe) for u in sliced_units
    ]


def test_wallclock_is_the_first_slices_arrival(sliced_units: list[AccessUnit]) -> None:
    # per_slice() stamps slice i with wallclock i; the SEI (index 0) opens the first picture.
    assert {u.wallclock for u in sliced_units} == {0.0}


def test_new_sps_bumps_generation(multi_slice_scene: Scene, small_scene: Scene) -> None:
    first, second = demux(multi_slice_scene), demux(small_scene)
    new_sets = nal.parameter_sets_from_extradata("h264", second.extradata)
    assembler = AccessUnitAssembler("h264", first.extradata)
    offset = first.samples[-1][1] + 1024
    packets = [RawPacket(d, pts, dts, 0.0) for d, pts, dts, _ in first.samples]
    for i, (data, pts, dts, _) in enumerate(second.samples):
        # The camera sends its new SPS/PPS in-band before the first keyframe of the new stream.
        payload = length_prefixed(*new_sets) + data if i == 0 else data
        packets.append(RawPacket(payload, pts + offset, dts + offset, 0.0))
    units = assemble(assembler, packets)
    assert [u.generation for u in units] == [0] * 60 + [1] * 20
    assert assembler.generation == 1
    assert assembler.parameter_sets == new_sets
    assert nal.split_annexb(units[60].data)[:2] == new_sets
    assert units[60].is_keyframe
    assert decode(units) == [(640, 360)] * 60 + [(320, 180)] * 20


def test_repeated_identical_sps_keeps_generation(multi: Demuxed) -> None:
    sets = nal.parameter_sets_from_extradata("h264", multi.extradata)
    assembler = AccessUnitAssembler("h264", multi.extradata)
    packets = [
        RawPacket(length_prefixed(*sets) + d if key else d, pts, dts, 0.0)
        for d, pts, dts, key in multi.samples
    ]
    units = assemble(assembler, packets)
    assert {u.generation for u in units} == {0}
    keyframe = nal.split_annexb(units[20].data)
    assert [nal.nal_type("h264", u) for u in keyframe[:2]] == [7, 8]
    assert sum(nal.is_parameter_set("h264", u) for u in keyframe) == 2  # not repeated twice


def test_missing_pts_is_filled_from_the_cadence(multi: Demuxed) -> None:
    assembler = AccessUnitAssembler("h264", multi.extradata)
    packets = [
        RawPacket(d, pts if i < 3 else None, None, 0.0) for i, (d, pts, _, _) in enumerate(multi.samples)
    ]
    units = assemble(assembler, packets[:6])
    assert [u.pts for u in units] == [0, 1024, 2048, 3072, 4096, 5120]
    assert [u.dts for u in units] == [u.pts for u in units]


def test_unsupported_codec_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^unsupported codec 'vp8': only h264 and hevc are recorded$"):
        AccessUnitAssembler("vp8", None)


def annexb(data: bytes) -> bytes:
    """An AVCC sample as FFmpeg's RTSP demuxer hands it out: Annex B, four-byte start codes."""
    return nal.join_annexb(nal.split_length_prefixed(data))


def sprop(multi: Demuxed) -> bytes:
    """The parameter sets as an RTSP camera announces them (SDP sprop-parameter-sets)."""
    return nal.join_annexb(nal.parameter_sets_from_extradata("h264", multi.extradata))


def test_annexb_packets_give_the_same_units_as_avcc(multi: Demuxed, sliced_units: list[AccessUnit]) -> None:
    assembler = AccessUnitAssembler("h264", sprop(multi))
    whole = assemble(assembler, [RawPacket(annexb(d), pts, dts, 0.0) for d, pts, dts, _ in multi.samples])
    assert [(u.data, u.pts, u.dts, u.is_keyframe) for u in whole] == [
        (u.data, u.pts, u.dts, u.is_keyframe) for u in sliced_units
    ]


def test_annexb_slices_in_packets_of_their_own_are_merged(
    multi: Demuxed, sliced_units: list[AccessUnit]
) -> None:
    assembler = AccessUnitAssembler("h264", sprop(multi))
    packets = [
        RawPacket(annexb(p.data), p.pts, p.dts, p.wallclock)
        for d, pts, dts, _ in multi.samples
        for p in per_slice(d, pts, dts)
    ]
    units = assemble(assembler, packets)
    assert [(u.data, u.pts, u.is_keyframe, u.wallclock) for u in units] == [
        (u.data, u.pts, u.is_keyframe, u.wallclock) for u in sliced_units
    ]


def test_whole_annexb_picture_leaves_as_the_same_bytes_object(multi: Demuxed) -> None:
    # The common packet costs no copy: a picture already in the hub's form passes through.
    assembler = AccessUnitAssembler("h264", sprop(multi))
    datas = [annexb(d) for d, *_ in multi.samples[:3]]
    units = assemble(assembler, [RawPacket(d, i * 1024, i * 1024, 0.0) for i, d in enumerate(datas)])
    assert [u.is_keyframe for u in units] == [True, False, False]
    assert units[1].data is datas[1] and units[2].data is datas[2]


def test_annexb_start_codes_before_the_slice_are_normalised(multi: Demuxed) -> None:
    sps, pps = nal.parameter_sets_from_extradata("h264", multi.extradata)
    slices = nal.split_length_prefixed(multi.samples[0][0])
    idr = [u for u in slices if nal.is_vcl("h264", u)]
    # Leading garbage and three-byte start codes, as some cameras send them.
    data = b"\xff\x00\x00\x01" + sps + b"\x00\x00\x01" + pps + b"\x00\x00\x01" + nal.join_annexb(idr)[4:]
    assembler = AccessUnitAssembler("h264", None)
    [unit] = assemble(assembler, [RawPacket(data, 0, 0, 0.0)])
    assert unit.is_keyframe
    assert unit.data == nal.join_annexb([sps, pps, *idr])
    assert assembler.parameter_sets == [sps, pps]


def test_packet_without_start_code_is_refused(multi: Demuxed) -> None:
    assembler = AccessUnitAssembler("h264", sprop(multi))
    with pytest.raises(ValueError, match=r"^no Annex B start code in packet$"):
        assembler.push(RawPacket(b"\x65\x88\x84\x00", 0, 0, 0.0))
