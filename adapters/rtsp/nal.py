"""Pure helpers over H.264 / H.265 NAL units (ITU-T H.264 §7.3, H.265 §7.3).

Packets inside the hub are always Annex B (``00 00 00 01`` start codes) with the parameter sets
repeated in front of every keyframe, so that any run of packets that starts on a keyframe can be
muxed or decoded on its own. These functions convert what FFmpeg hands us into that form.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

START_CODE = b"\x00\x00\x00\x01"

# H.264 nal_unit_type values (Table 7-1).
H264_SLICE = 1
H264_IDR = 5
H264_SEI = 6
H264_SPS = 7
H264_PPS = 8
H264_AUD = 9
# H.265 nal_unit_type values (Table 7-1).
HEVC_VPS = 32
HEVC_SPS = 33
HEVC_PPS = 34
HEVC_AUD = 35
HEVC_PREFIX_SEI = 39


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream, without their start codes."""
    units: list[bytes] = []
    i = data.find(b"\x00\x00\x01")
    if i < 0:
        raise ValueError("no Annex B start code in packet")
    start = i + 3
    while True:
        nxt = data.find(b"\x00\x00\x01", start)
        if nxt < 0:
            units.append(data[start:])
            break
        end = nxt - 1 if data[nxt - 1] == 0 else nxt  # four-byte start code
        units.append(data[start:end])
        start = nxt + 3
    return [u for u in units if u]


def split_before_slice(codec: str, data: bytes) -> tuple[list[bytes], int]:
    """The NAL units of an Annex B packet that come before its first slice, and the offset of
    that slice's NAL header (-1 when the packet has none).

    Only the part before the first slice is scanned: a picture's delimiter, SEI and parameter
    sets come before its slices (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4), so what follows is the
    picture itself, tens of kilobytes that need no start-code search. (H.264 lets a PPS sit
    between two slices of one picture; cameras do not do that, and such a unit still stays in
    the data, unread.)
    """
    units: list[bytes] = []
    find = data.find
    i = find(b"\x00\x00\x01")
    if i < 0:
        raise ValueError("no Annex B start code in packet")
    start, size = i + 3, len(data)
    hevc = codec == "hevc"
    while start < size:
        nxt = find(b"\x00\x00\x01", start, start + 4)
        if nxt == start or (nxt == start + 1 and data[start] == 0):  # an empty unit
            start = nxt + 3
            continue
        t = (data[start] >> 1) & 0x3F if hevc else data[start] & 0x1F
        if (t < 32) if hevc else (1 <= t <= 5):
            return units, start
        nxt = find(b"\x00\x00\x01", start)
        if nxt < 0:
            units.append(data[start:])
            break
        units.append(data[start : nxt - 1 if data[nxt - 1] == 0 else nxt])
        start = nxt + 3
    return units, -1


def split_length_prefixed(data: bytes, length_size: int = 4) -> list[bytes]:
    """NAL units of an AVCC/HVCC sample (each unit preceded by its big-endian length)."""
    units: list[bytes] = []
    i = 0
    while i < len(data):
        if i + length_size > len(data):
            raise ValueError(f"truncated NAL length at offset {i}")
        size = int.from_bytes(data[i : i + length_size], "big")
        i += length_size
        if size == 0 or i + size > len(data):
            raise ValueError(f"NAL length {size} at offset {i - length_size} overruns the packet")
        units.append(data[i : i + size])
        i += size
    return units


def is_annexb(data: bytes) -> bool:
    return data.startswith(b"\x00\x00\x01") or data.startswith(START_CODE)


def length_size_for(codec: str, extradata: bytes | None) -> int:
    """NAL length-field size for ``avcC``/``hvcC`` extradata (version byte 1), 0 for Annex B.

    The packets themselves cannot tell: a length of 0x000001xx looks like a start code.
    """
    if not extradata or extradata[0] != 1:
        return 0
    index = 21 if codec == "hevc" else 4  # lengthSizeMinusOne, ISO/IEC 14496-15
    if len(extradata) <= index:
        raise ValueError(f"malformed {codec} extradata ({len(extradata)} bytes)")
    return (extradata[index] & 0x03) + 1


def join_annexb(units: Iterable[bytes]) -> bytes:
    return b"".join(START_CODE + u for u in units)


def nal_type(codec: str, unit: bytes) -> int:
    if codec == "hevc":
        return (unit[0] >> 1) & 0x3F
    return unit[0] & 0x1F


def is_vcl(codec: str, unit: bytes) -> bool:
    t = nal_type(codec, unit)
    return t < 32 if codec == "hevc" else 1 <= t <= 5


def starts_picture(codec: str, unit: bytes) -> bool:
    """True for the first slice of a picture (first_mb_in_slice == 0 / first_slice_segment flag)."""
    if not is_vcl(codec, unit):
        return False
    header = 2 if codec == "hevc" else 1
    # Both fields are the first bit(s) after the NAL header: ue(v) 0 is the single bit "1".
    return len(unit) > header and bool(unit[header] & 0x80)


def is_parameter_set(codec: str, unit: bytes) -> bool:
    t = nal_type(codec, unit)
    return t in (HEVC_VPS, HEVC_SPS, HEVC_PPS) if codec == "hevc" else t in (H264_SPS, H264_PPS)


def opens_access_unit(codec: str, unit: bytes) -> bool:
    """NAL types that may only appear before the first slice of a new access unit."""
    t = nal_type(codec, unit)
    if codec == "hevc":
        return t in (HEVC_VPS, HEVC_SPS, HEVC_PPS, HEVC_AUD, HEVC_PREFIX_SEI)
    return t in (H264_SEI, H264_SPS, H264_PPS, H264_AUD)


def parameter_sets_from_extradata(codec: str, extradata: bytes | None) -> list[bytes]:
    """SPS/PPS (and VPS) from ``avcC``/``hvcC`` extradata, or from Annex B extradata (RTSP sprop)."""
    if not extradata:
        return []
    if extradata[0] != 1:  # not avcC/hvcC: Annex B, as RTSP's sprop-parameter-sets give it
        return [u for u in split_annexb(extradata) if is_parameter_set(codec, u)]
    try:
        return _hvcc_sets(extradata) if codec == "hevc" else _avcc_sets(extradata)
    except (IndexError, struct.error) as err:
        raise ValueError(f"malformed {codec} extradata ({len(extradata)} bytes)") from err


def _avcc_sets(ex: bytes) -> list[bytes]:
    sets: list[bytes] = []
    i = 6
    for count_pos in (5, None):
        count = ex[5] & 0x1F if count_pos == 5 else ex[i]
        if count_pos is None:
            i += 1
        for _ in range(count):
            (size,) = struct.unpack(">H", ex[i : i + 2])
            sets.append(ex[i + 2 : i + 2 + size])
            i += 2 + size
    return sets


def _hvcc_sets(ex: bytes) -> list[bytes]:
    sets: list[bytes] = []
    arrays = ex[22]
    i = 23
    for _ in range(arrays):
        (count,) = struct.unpack(">H", ex[i + 1 : i + 3])
        i += 3
        for _ in range(count):
            (size,) = struct.unpack(">H", ex[i : i + 2])
            sets.append(ex[i + 2 : i + 2 + size])
            i += 2 + size
    return sets
