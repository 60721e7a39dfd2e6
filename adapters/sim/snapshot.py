"""JPEG snapshots of what a simulated camera is playing now (ONVIF ``GetSnapshotUri``).

A snapshot decodes the stream's media from the last keyframe up to the picture on the wire, in a
worker thread, and keeps the JPEG of the last position asked for: an ONVIF client polling
snapshots faster than the frame rate costs one decode per picture at most.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import av
import cv2

from adapters.rtsp import nal
from adapters.sim.media import Media

JPEG_QUALITY = 85


def last_keyframe(media: Media, position: int) -> int:
    """The index of the last keyframe at or before ``position`` (the first unit if none is)."""
    if not 0 <= position < len(media.units):
        raise ValueError(f"position {position} outside the media's {len(media.units)} units")
    return next((i for i in range(position, -1, -1) if media.units[i].is_keyframe), 0)


def frame_jpeg(media: Media, position: int, quality: int = JPEG_QUALITY) -> bytes:
    """A JPEG of picture ``position`` of ``media`` (blocking: decodes from the last keyframe)."""
    decoder = av.CodecContext.create(media.codec, "r")
    if not isinstance(decoder, av.VideoCodecContext):
        raise TypeError(f"{media.codec} decoder is not a video decoder")
    frames: list[av.VideoFrame] = []
    for unit in media.units[last_keyframe(media, position) : position + 1]:
        frames += decoder.decode(av.Packet(nal.join_annexb(unit.nals)))
    frames += decoder.decode(None)
    if not frames:
        raise ValueError(f"picture {position} did not decode")
    ok, jpeg = cv2.imencode(
        ".jpg", frames[-1].to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError(f"JPEG encoding of picture {position} failed")
    return jpeg.tobytes()


class SnapshotCache:
    """The JPEG of the last (media, position) asked for; decodes run one at a time, off the loop."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._key: tuple[Media, int] | None = None
        self._jpeg = b""

    async def jpeg(self, media: Media, position: int) -> bytes:
        async with self._lock:
            if self._key is None or self._key[0] is not media or self._key[1] != position:
                self._jpeg = await asyncio.to_thread(frame_jpeg, media, position)
                self._key = (media, position)
            return self._jpeg


class Snapshotting(Protocol):
    async def snapshot_jpeg(self) -> bytes: ...


async def current_frame_jpeg(stream: Snapshotting) -> bytes:
    """A JPEG of the picture ``stream`` (a :class:`~adapters.sim.rtsp.streams.SimStream`) plays now."""
    return await stream.snapshot_jpeg()
