"""Re-encoded versions of a clip: a camera's sub stream, a resized or a black (tampered) picture.

Every version keeps the source's timeline frame for frame, with keyframes forced where the source
has them and no B-frames, so a camera stream can switch between versions at any keyframe.
Encoding is blocking and costs seconds: run it through ``run_in_executor``, and never per client.

* :func:`make_substream` writes a scaled copy of a file once and reuses it while the source and
  the size stay the same (the camera's ``.../sub``).
* :func:`transcode_media` makes a version of in-memory media (the resize and tamper faults, and
  the part of the picture a PTZ camera sees: :class:`~adapters.sim.ptz_video.PtzVideo`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.frame import PictureType

from adapters.rtsp import nal
from adapters.sim.media import AccessUnit, Media, build_media

ENCODERS = {"h264": "libx264", "hevc": "libx265"}
KEYINT = 100_000  # keyframes come only where the source has them
PRESET = "veryfast"
Crop = tuple[int, int, int, int]  # x, y, width, height in source pixels


def encoder_available(codec: str) -> bool:
    """Whether this FFmpeg build can encode ``codec`` ("h264" or "hevc")."""
    return ENCODERS.get(codec, "") in av.codecs_available


def _encoder_options(codec: str) -> dict[str, str]:
    common = f"keyint={KEYINT}:min-keyint={KEYINT}:scenecut=0:bframes=0"
    if codec == "h264":
        return {"preset": PRESET, "forced-idr": "1", "x264-params": f"{common}:threads=1"}
    if codec == "hevc":
        params = f"{common}:open-gop=0:frame-threads=1:pools=none:log-level=error"
        return {"preset": PRESET, "forced-idr": "1", "x265-params": params}
    raise ValueError(f"no encoder for codec {codec!r}, expected 'h264' or 'hevc'")


def _configure(ctx: av.VideoCodecContext, codec: str, width: int, height: int, rate: Fraction) -> None:
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise ValueError(f"size must be even and at least 16x16, got {width}x{height}")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.framerate = rate
    ctx.max_b_frames = 0
    ctx.gop_size = KEYINT
    ctx.options = _encoder_options(codec)


def _prepare(frame: av.VideoFrame, width: int, height: int, keyframe: bool) -> av.VideoFrame:
    scaled = frame.reformat(width=width, height=height, format="yuv420p")
    scaled.pts, scaled.time_base = frame.pts, frame.time_base
    scaled.pict_type = PictureType.I if keyframe else PictureType.NONE
    return scaled


def make_substream(
    source: Path, out: Path, width: int = 640, height: int = 360, *, codec: str | None = None
) -> Path:
    """A ``width``x``height`` copy of ``source`` at ``out`` (same GOP, no B-frames), encoded once.

    The copy is reused while ``source`` keeps its modification time and size and the requested
    size and codec (default: the source's) stay the same. Blocking.
    """
    stat = source.stat()
    marker = out.with_name(out.name + ".key")
    key = f"{stat.st_mtime_ns}:{stat.st_size}:{width}x{height}:{codec or 'same'}\n"
    if out.exists() and marker.exists() and marker.read_text() == key:
        return out
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    with av.open(str(source)) as src, av.open(str(partial), mode="w") as dst:
        video = src.streams.video[0]
        target = codec or video.codec_context.name
        rate = Fraction(video.average_rate or 25)
        stream = dst.add_stream(ENCODERS.get(target, target), rate=rate)
        if not isinstance(stream, av.VideoStream):
            raise TypeError(f"{ENCODERS[target]} did not make a video stream")
        _configure(stream.codec_context, target, width, height, rate)
        stream.time_base = video.time_base
        for frame in src.decode(video):
            dst.mux(stream.encode(_prepare(frame, width, height, frame.key_frame)))
        dst.mux(stream.encode(None))
    os.replace(partial, out)
    marker.write_text(key)
    return out


def _decoded(media: Media) -> Iterator[av.VideoFrame]:
    """Every picture of ``media``, pts = its unit index."""
    decoder = av.CodecContext.create(media.codec, "r")
    if not isinstance(decoder, av.VideoCodecContext):
        raise TypeError(f"{media.codec} decoder is not a video decoder")
    for index, unit in enumerate(media.units):
        packet = av.Packet(nal.join_annexb(unit.nals))
        packet.pts = packet.dts = index
        yield from decoder.decode(packet)
    yield from decoder.decode(None)


def _black(media: Media, width: int, height: int) -> Iterator[av.VideoFrame]:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    for index in range(len(media.units)):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = index
        yield frame


def check_crop(crop: Crop, width: int, height: int) -> None:
    """Raise ValueError unless ``crop`` is a non-empty rectangle inside a ``width``x``height`` picture."""
    x, y, w, h = crop
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise ValueError(f"crop {w}x{h} at {x},{y} is not inside the {width}x{height} picture")


def _crop_yuv420p(frame: av.VideoFrame, crop: Crop, width: int, height: int, method: int) -> av.VideoFrame:
    """Cut and scale each plane of an even-sized picture: no colour conversion (6x faster than BGR)."""
    x, y, w, h = crop
    rows, cols = frame.height, frame.width
    data = frame.to_ndarray(format="yuv420p").reshape(-1)  # the Y, U and V planes, back to back
    luma, chroma = (
        data[: rows * cols].reshape(rows, cols),
        data[rows * cols :].reshape(2, rows // 2, cols // 2),
    )
    cx, cy, cw, ch = x // 2, y // 2, max(1, w // 2), max(1, h // 2)
    planes = [cv2.resize(luma[y : y + h, x : x + w], (width, height), interpolation=method).reshape(-1)]
    for plane in chroma:
        window = plane[cy : cy + ch, cx : cx + cw]
        planes.append(cv2.resize(window, (width // 2, height // 2), interpolation=method).reshape(-1))
    packed = np.concatenate(planes, dtype=np.uint8).reshape(height * 3 // 2, width)
    return av.VideoFrame.from_ndarray(packed, format="yuv420p")


def _cropped(frames: Iterator[av.VideoFrame], crop: Crop, width: int, height: int) -> Iterator[av.VideoFrame]:
    """Each of ``frames`` cut to ``crop`` and scaled to ``width``x``height`` (same pts)."""
    x, y, w, h = crop
    method = cv2.INTER_AREA if w > width or h > height else cv2.INTER_LINEAR
    for frame in frames:
        if frame.width % 2 or frame.height % 2:  # odd sizes have no packed yuv420p layout
            window = frame.to_ndarray(format="bgr24")[y : y + h, x : x + w]
            image = cv2.resize(window, (width, height), interpolation=method)
            out = av.VideoFrame.from_ndarray(np.asarray(image, dtype=np.uint8), format="bgr24")
        else:
            out = _crop_yuv420p(frame, crop, width, height, method)
        out.pts = frame.pts
        yield out


def transcode_media(
    media: Media, width: int, height: int, *, black: bool = False, crop: Crop | None = None
) -> Media:
    """``media`` at ``width``x``height`` (or all black), on the same timeline and GOP. Blocking.

    With ``crop`` (x, y, w, h in ``media``'s pixels) only that part of each picture is kept and
    scaled to the output size: what a zoomed-in, panned camera sees.
    """
    if crop is not None:
        check_crop(crop, media.width, media.height)
    rate = Fraction(media.fps).limit_denominator(1001)
    encoder = av.CodecContext.create(ENCODERS.get(media.codec, media.codec), "w")
    if not isinstance(encoder, av.VideoCodecContext):
        raise TypeError(f"{media.codec} encoder is not a video encoder")
    _configure(encoder, media.codec, width, height, rate)
    encoder.time_base = 1 / rate  # pts are unit indexes
    packets: dict[int, tuple[bytes, bool]] = {}
    frames = _black(media, width, height) if black else _decoded(media)
    if crop is not None and not black:
        frames = _cropped(frames, crop, width, height)
    for frame in frames:
        index = int(frame.pts or 0)
        frame.time_base = encoder.time_base
        encoded = encoder.encode(_prepare(frame, width, height, media.units[index].is_keyframe))
        packets.update((int(p.pts or 0), (bytes(p), p.is_keyframe)) for p in encoded)
    packets.update((int(p.pts or 0), (bytes(p), p.is_keyframe)) for p in encoder.encode(None))
    if sorted(packets) != list(range(len(media.units))):
        raise ValueError(f"re-encoding gave {len(packets)} pictures for {len(media.units)} source units")
    units = [
        AccessUnit(tuple(nal.split_annexb(data)), unit.rtp_offset, unit.send_offset, key)
        for unit, (data, key) in zip(media.units, (packets[i] for i in range(len(media.units))), strict=True)
    ]
    view = " black" if black else "" if crop is None else " crop {2}x{3} at {0},{1}".format(*crop)
    name = f"{width}x{height}{view} copy"
    return build_media(media.codec, width, height, media.fps, units, media.duration, name=name)
