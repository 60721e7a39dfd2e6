"""Event snapshots: the best frame of an event as a JPEG, plus a small thumbnail."""

from __future__ import annotations

from pathlib import Path

import cv2

from adapters.source import BGRImage

THUMBNAIL_WIDTH = 320


def _write_jpeg(path: Path, image: BGRImage, quality: int) -> None:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data.tobytes())
    tmp.replace(path)


def write_snapshot(image: BGRImage, snapshot_path: Path, thumbnail_path: Path) -> None:
    """Blocking: call from a worker thread."""
    _write_jpeg(snapshot_path, image, 90)
    height, width = image.shape[:2]
    scale = min(1.0, THUMBNAIL_WIDTH / width)
    size = (int(width * scale), int(height * scale))
    thumb: BGRImage = cv2.resize(image, size, interpolation=cv2.INTER_AREA)  # type: ignore[assignment]
    _write_jpeg(thumbnail_path, thumb, 80)
