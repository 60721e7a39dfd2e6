"""JPEG snapshots of the picture a simulated camera is playing now."""

from __future__ import annotations

import asyncio

import cv2
import numpy as np
import pytest

from adapters.sim.media import Media
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.snapshot import SnapshotCache, current_frame_jpeg, frame_jpeg, last_keyframe
from adapters.sim.synthetic import SceneObject, make_background, render_frame
from tests.sim.rtsp_client import scene_media

OBJECTS = (SceneObject(enter=0.0, leave=4.0, size=(60, 60)),)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return scene_media(
        tmp_path_factory,
        width=320,
        height=180,
        seconds=4.0,
        gop_seconds=1.0,
        objects=OBJECTS,
        preset="ultrafast",
    )


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_last_keyframe(media: Media) -> None:
    assert [last_keyframe(media, i) for i in (0, 9, 10, 25, 39)] == [0, 0, 10, 20, 30]
    with pytest.raises(ValueError, match=r"^position 40 outside the media's 40 units$"):
        last_keyframe(media, 40)


@pytest.mark.parametrize("position", [0, 17, 39])
def test_frame_jpeg_shows_that_picture(media: Media, position: int) -> None:
    image = decode(frame_jpeg(media, position))
    assert image.shape == (180, 320, 3)
    expected = render_frame(make_background(320, 180), OBJECTS, position / 10)
    other = render_frame(make_background(320, 180), OBJECTS, (position + 5) / 10)
    error = float(np.mean(cv2.absdiff(image, expected)))
    assert error < 6
    assert error < float(np.mean(cv2.absdiff(image, other)))  # this picture, not one 0.5 s on


async def test_cache_decodes_each_position_once(media: Media) -> None:
    cache = SnapshotCache()
    first, again = await asyncio.gather(cache.jpeg(media, 12), cache.jpeg(media, 12))
    assert first is again
    assert await cache.jpeg(media, 13) != first


async def test_stream_snapshot_follows_playback(media: Media) -> None:
    server = RtspServer()
    stream = server.add_stream("cam/main", media)
    assert server.stream("/cam/main/") is stream
    await server.start()
    try:
        await asyncio.sleep(1.25)
        position = stream.loop.next_index - 1
        jpeg = await current_frame_jpeg(stream)
        assert position in (12, 13)
        image = decode(jpeg)
        errors = [
            float(np.mean(cv2.absdiff(image, render_frame(make_background(320, 180), OBJECTS, i / 10))))
            for i in range(position - 3, position + 4)
        ]
        assert min(range(7), key=lambda i: errors[i]) in (2, 3, 4)  # about the picture on the wire
        assert (stream.width, stream.height, stream.media) == (320, 180, media)
    finally:
        await server.stop()
