"""The synthetic scene: frames, GOP, slices and ground truth."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from adapters.sim.media import load_media, nal_type, split_avcc
from adapters.sim.synthetic import (
    SceneObject,
    SceneTruth,
    make_background,
    motion_intervals,
    object_box,
    write_synthetic_scene,
)

SLICE_TYPES = {1, 5}


def test_default_scene_truth_and_gop(tmp_path: Path) -> None:
    path = tmp_path / "scene.mp4"
    truth = write_synthetic_scene(path, width=320, height=180)
    assert truth == SceneTruth(width=320, height=180, fps=10, frames=200, motion_intervals=((6.0, 12.0),))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 320, 180)
        packets = [p for p in container.demux(stream) if p.size]
    assert len(packets) == 200
    assert [i for i, p in enumerate(packets) if p.is_keyframe] == list(range(0, 200, 20))
    assert [p.dts for p in packets] == sorted(p.pts for p in packets if p.pts is not None)  # no B-frames


def test_multi_slice_pictures(tmp_path: Path) -> None:
    path = tmp_path / "sliced.mp4"
    write_synthetic_scene(path, width=320, height=192, seconds=3.0, gop_seconds=1.0, slices=4)
    media = load_media(path)
    slice_counts = {sum(nal_type(n) in SLICE_TYPES for n in unit.nals) for unit in media.units}
    assert slice_counts == {4}
    assert [i for i, u in enumerate(media.units) if u.is_keyframe] == [0, 10, 20]
    with av.open(str(path)) as container:  # the file itself, not only our splitter, has 4 slices
        first = next(p for p in container.demux(video=0) if p.size)
        assert sum(nal_type(n) == 5 for n in split_avcc(bytes(first))) == 4


def test_frames_show_the_object_only_while_it_crosses(tmp_path: Path) -> None:
    path = tmp_path / "truth.mp4"
    write_synthetic_scene(path, width=320, height=180, seconds=8.0, objects=(SceneObject(2.0, 6.0),))
    background = make_background(320, 180)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == 80

    def changed(index: int) -> float:
        diff = abs(frames[index].astype(int) - background.astype(int)).max(axis=2)
        return float((diff > 60).mean())

    assert max(changed(i) for i in range(0, 20)) < 0.001  # quiet: only coding noise
    assert changed(40) > 0.1  # object in the middle at 4 s
    assert max(changed(i) for i in range(61, 80)) < 0.001


def test_object_box_and_intervals() -> None:
    obj = SceneObject(enter=1.0, leave=3.0, size=(100, 50), top=0.5)
    assert object_box(obj, 1.0, 400, 200) is None
    assert object_box(obj, 2.0, 400, 200) == (150, 100, 250, 150)
    assert object_box(obj, 3.0, 400, 200) is None
    objects = (SceneObject(1.0, 3.0), SceneObject(2.5, 4.0), SceneObject(6.0, 30.0), SceneObject(40.0, 50.0))
    assert motion_intervals(objects, 20.0) == ((1.0, 4.0), (6.0, 20.0))


def test_rejects_odd_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^width and height must be even for yuv420p, got 321x180$"):
        write_synthetic_scene(tmp_path / "x.mp4", width=321, height=180)
