"""The sample entry of an MP4's video track: find it, and mark it "parameter sets in the stream".

ISO/IEC 14496-15 names two kinds of H.264/H.265 sample entry: ``avc1``/``hvc1``, whose
configuration record holds every SPS/PPS the track uses, and ``avc3``/``hev1``, whose parameter
sets may also come in the samples. A recording that spans a new SPS (a camera switching
resolution) is only valid as the second kind. FFmpeg's mp4 muxer writes ``hev1`` for H.265 but
``avc1`` for H.264, and PyAV cannot set the stream's codec tag, so the four bytes of the entry's
type are rewritten in place after the file is written: same size, same layout, nothing moves.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

# Boxes on the way from the file to the sample description (ISO/IEC 14496-12 §8).
_PATH = (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd")
IN_BAND = {"h264": (b"avc1", b"avc3"), "hevc": (b"hvc1", b"hev1")}  # codec: (out-of-band, in-band)


def _boxes(fh: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """``(type, payload start, box end)`` of each box in ``[start, end)``."""
    found: list[tuple[bytes, int, int]] = []
    position = start
    while position + 8 <= end:
        fh.seek(position)
        size, kind = struct.unpack(">I4s", fh.read(8))
        header = 8
        if size == 1:  # 64-bit size after the type
            (size,) = struct.unpack(">Q", fh.read(8))
            header = 16
        elif size == 0:  # the box runs to the end of its parent
            size = end - position
        if size < header or position + size > end:
            raise ValueError(f"malformed MP4: box {kind!r} at {position} has size {size}")
        found.append((kind, position + header, position + size))
        position += size
    return found


def sample_entry_offset(fh: BinaryIO) -> int | None:
    """Where the first track's first sample entry type (e.g. ``avc1``) is, or None without one."""
    fh.seek(0, 2)
    start, end = 0, fh.tell()
    for kind in _PATH:
        box = next(((s, e) for k, s, e in _boxes(fh, start, end) if k == kind), None)
        if box is None:
            return None
        start, end = box
    # stsd is a full box: version and flags (4 bytes), entry_count (4), then the entries.
    if end - start < 16:
        return None
    return start + 8 + 4  # skip the first entry's size


def sample_entry_type(path: Path) -> bytes | None:
    with path.open("rb") as fh:
        offset = sample_entry_offset(fh)
        if offset is None:
            return None
        fh.seek(offset)
        return fh.read(4)


def mark_in_band_parameter_sets(path: Path, codec: str) -> bool:
    """Turn ``avc1``/``hvc1`` into ``avc3``/``hev1``; False if the file already says so (or has neither)."""
    out_of_band, in_band = IN_BAND[codec]
    with path.open("r+b") as fh:
        offset = sample_entry_offset(fh)
        if offset is None:
            raise ValueError(f"{path.name}: no video sample entry")
        fh.seek(offset)
        if fh.read(4) != out_of_band:
            return False
        fh.seek(offset)
        fh.write(in_band)
    return True
