"""The MP4 sample entry rewrite (avc1 -> avc3) on files written by write_mp4, and on broken ones."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import av
import pytest

from adapters.source import EncodedPacket
from hub.recording.remux import write_mp4
from hub.recording.sample_entry import mark_in_band_parameter_sets, sample_entry_type


def test_avc1_becomes_avc3_in_place(single_slice_packets: list[EncodedPacket], tmp_path: Path) -> None:
    facts = write_mp4(single_slice_packets[:20], tmp_path / "clip.mp4")
    before = facts.path.read_bytes()

    assert mark_in_band_parameter_sets(facts.path, "h264") is True

    after = facts.path.read_bytes()
    assert len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 1 and after[changed[0] - 3 : changed[0] + 1] == b"avc3"
    assert sample_entry_type(facts.path) == b"avc3"
    with av.open(str(facts.path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20
    assert mark_in_band_parameter_sets(facts.path, "h264") is False  # already says so
    assert hashlib.sha256(facts.path.read_bytes()).hexdigest() == hashlib.sha256(after).hexdigest()


def test_a_file_without_a_movie_box_has_no_sample_entry(tmp_path: Path) -> None:
    path = tmp_path / "bare.mp4"
    path.write_bytes(struct.pack(">I4s", 16, b"ftyp") + b"isom\x00\x00\x02\x00")

    assert sample_entry_type(path) is None
    with pytest.raises(ValueError, match=r"^bare\.mp4: no video sample entry$"):
        mark_in_band_parameter_sets(path, "h264")


def test_a_box_that_overruns_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes(struct.pack(">I4s", 4096, b"moov") + bytes(24))

    with pytest.raises(ValueError, match=r"^malformed MP4: box b'moov' at 0 has size 4096$"):
        sample_entry_type(path)
