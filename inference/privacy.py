"""Privacy masks drawn over a picture: each polygon, its points ``[x, y]`` as fractions 0..1 of the
width and height, is filled black. Pure functions over arrays and bytes, no I/O.

The registry validates the polygons (``hub.registry.masks``); these functions only draw them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from adapters.source import BGRImage

JPEG_QUALITY = 90
Polygon = Sequence[Sequence[float]]


def _pixels(mask: Polygon, width: int, height: int) -> npt.NDArray[np.int32]:
    # A point at 1.0 is the far edge: the last pixel is width - 1.
    points = [(round(x * (width - 1)), round(y * (height - 1))) for x, y in mask]
    return np.array(points, dtype=np.int32)


def apply_privacy_masks(image: BGRImage, masks: Sequence[Polygon]) -> BGRImage:
    """A copy of ``image`` with every mask polygon filled black (``image`` itself is left alone)."""
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"expected an image of shape (height, width[, channels]), got {image.shape}")
    out = image.copy()
    if not masks:
        return out
    height, width = image.shape[:2]
    polygons = [_pixels(mask, width, height) for mask in masks]
    colour = (0,) * (1 if image.ndim == 2 else image.shape[2])
    cv2.fillPoly(out, polygons, colour)
    return out


def masked_jpeg(jpeg: bytes, masks: Sequence[Polygon], *, quality: int = JPEG_QUALITY) -> bytes:
    """``jpeg`` with ``masks`` drawn, re-encoded; without masks a JPEG comes back as it is.

    Raises ValueError("not a decodable JPEG image") for anything OpenCV cannot decode.
    """
    decoded = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR) if jpeg else None
    if decoded is None:
        raise ValueError("not a decodable JPEG image")
    if not masks and jpeg.startswith(b"\xff\xd8"):
        return jpeg  # nothing to hide: spare the picture a second lossy encoding
    image: BGRImage = decoded.astype(np.uint8, copy=False)
    ok, encoded = cv2.imencode(".jpg", apply_privacy_masks(image, masks), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit BGR picture
        raise ValueError("the masked picture could not be encoded as JPEG")
    return bytes(encoded.tobytes())
