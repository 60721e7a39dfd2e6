"""Sub streams and other versions of a clip: same timeline and GOP, new size, encoded once."""

from __future__ import annotations

import os
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from adapters.rtsp import nal
from adapters.sim.media import Media, load_media
from adapters.sim.substream import encoder_available, make_substream, transcode_media
from tests.sim.rtsp_client import scene_clip, scene_media

OPTIONS = {"width": 320, "height": 180, "seconds": 4.0, "gop_seconds": 1.0, "preset": "ultrafast"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scene_clip(tmp_path_factory, **OPTIONS)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return scene_media(tmp_path_factory, **OPTIONS)


def keyframes(media: Media) -> list[int]:
    return [i for i, unit in enumerate(media.units) if unit.is_keyframe]


def test_make_substream_encodes_once_per_source_and_size(clip: Path, media: Media, tmp_path: Path) -> None:
    out = tmp_path / "sub.mp4"
    assert make_substream(clip, out, 160, 96) == out
    sub = load_media(out)
    assert (sub.codec, sub.width, sub.height, len(sub.units)) == ("h264", 160, 96, 40)
    assert keyframes(sub) == keyframes(media) == [0, 10, 20, 30]
    assert [u.rtp_offset for u in sub.units] == [u.rtp_offset for u in media.units]
    with av.open(str(out)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        assert [p.dts for p in packets] == [p.pts for p in packets]  # no B-frames
    written = out.stat().st_mtime_ns
    assert make_substream(clip, out, 160, 96) == out
    assert out.stat().st_mtime_ns == written  # cached
    make_substream(clip, out, 128, 72)
    assert load_media(out).width == 128  # another size: encoded again
    os.utime(clip, ns=(written, written))  # the source changed
    make_substream(clip, out, 128, 72)
    assert out.stat().st_mtime_ns != written
    assert not list(tmp_path.glob(".*partial*"))


def test_make_substream_rejects_odd_sizes(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^size must be even and at least 16x16, got 161x96$"):
        make_substream(clip, tmp_path / "odd.mp4", 161, 96)


def test_transcode_media_keeps_the_timeline(media: Media) -> None:
    small = transcode_media(media, 160, 96)
    assert (small.width, small.height, small.duration, len(small.units)) == (160, 96, media.duration, 40)
    assert keyframes(small) == keyframes(media)
    assert [(u.rtp_offset, u.send_offset) for u in small.units] == [
        (u.rtp_offset, u.send_offset) for u in media.units
    ]
    for index in keyframes(small):
        assert small.units[index].nals[:2] == (small.sps, small.pps)  # the new SPS, in-band
    assert small.sps != media.sps


def test_black_version_decodes_black(media: Media) -> None:
    black = transcode_media(media, 320, 180, black=True)
    decoder = av.CodecContext.create("h264", "r")
    assert isinstance(decoder, av.VideoCodecContext)
    frames = [f for u in black.units[:12] for f in decoder.decode(av.Packet(nal.join_annexb(u.nals)))]
    assert len(frames) >= 10
    assert max(float(np.mean(f.to_ndarray(format="gray"))) for f in frames) < 2


def test_encoders() -> None:
    assert encoder_available("h264")
    assert not encoder_available("vp8")


def test_cropped_version_shows_the_window_scaled_up(media: Media) -> None:
    crop = (160, 0, 160, 90)  # the top right quarter
    zoomed = transcode_media(media, 320, 180, crop=crop)
    assert (zoomed.width, zoomed.height, len(zoomed.units)) == (320, 180, 40)
    assert keyframes(zoomed) == keyframes(media)
    decoder = av.CodecContext.create("h264", "r")
    assert isinstance(decoder, av.VideoCodecContext)
    source = av.CodecContext.create("h264", "r")
    assert isinstance(source, av.VideoCodecContext)
    [picture] = decoder.decode(av.Packet(nal.join_annexb(zoomed.units[0].nals)))
    [original] = source.decode(av.Packet(nal.join_annexb(media.units[0].nals)))
    got = picture.to_ndarray(format="bgr24").astype(np.int16)
    full = original.to_ndarray(format="bgr24")
    expected = cv2.resize(full[0:90, 160:320], (320, 180)).astype(np.int16)
    assert float(np.mean(np.abs(got - expected))) < 4
    assert float(np.mean(np.abs(got - full.astype(np.int16)))) > 10


@pytest.mark.parametrize("crop", [(161, 0, 160, 90), (0, 0, 0, 90), (-2, 0, 16, 16)])
def test_crop_must_lie_inside_the_picture(media: Media, crop: tuple[int, int, int, int]) -> None:
    x, y, w, h = crop
    with pytest.raises(ValueError) as info:
        transcode_media(media, 160, 96, crop=crop)
    assert str(info.value) == f"crop {w}x{h} at {x},{y} is not inside the 320x180 picture"
