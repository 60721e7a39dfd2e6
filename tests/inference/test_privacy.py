"""Privacy masks drawn as pure functions: normalised polygons filled black, JPEG in and out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from adapters.source import BGRImage
from inference.privacy import apply_privacy_masks, masked_jpeg

LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]


def _grey(width: int = 200, height: int = 100, value: int = 200) -> BGRImage:
    return np.full((height, width, 3), value, dtype=np.uint8)


def _jpeg(image: BGRImage) -> bytes:
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data.tobytes())


def test_a_mask_blacks_out_its_polygon_and_nothing_else() -> None:
    image = _grey()

    masked = apply_privacy_masks(image, [LEFT_HALF])

    assert masked[:, :100].max() == 0  # x = 0.5 of 200 px is column 100 (rounded), edge included
    assert masked[:, 101:].min() == 200
    assert image.min() == 200  # the input is left alone


def test_several_masks_and_a_triangle() -> None:
    top_left = [[0.0, 0.0], [0.1, 0.0], [0.0, 0.2]]
    bottom_right = [[0.9, 0.8], [1.0, 0.8], [1.0, 1.0], [0.9, 1.0]]

    masked = apply_privacy_masks(_grey(), [top_left, bottom_right])

    assert (masked[0, 0].tolist(), masked[99, 199].tolist()) == ([0, 0, 0], [0, 0, 0])
    assert masked[19, 19].tolist() == [200, 200, 200]  # outside the triangle's hypotenuse
    assert masked[50, 100].tolist() == [200, 200, 200]


def test_grey_images_and_no_masks() -> None:
    grey = np.full((10, 10), 255, dtype=np.uint8)

    assert apply_privacy_masks(grey, [LEFT_HALF])[:, :4].max() == 0
    unmasked = apply_privacy_masks(grey, [])
    assert unmasked is not grey and (unmasked == grey).all()


def test_an_empty_image_is_refused() -> None:
    with pytest.raises(ValueError) as info:
        apply_privacy_masks(np.zeros((0, 4, 3), dtype=np.uint8), [LEFT_HALF])

    assert str(info.value) == "expected an image of shape (height, width[, channels]), got (0, 4, 3)"


def test_masked_jpeg_reencodes_with_the_mask() -> None:
    data = masked_jpeg(_jpeg(_grey()), [LEFT_HALF])

    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    assert data.startswith(b"\xff\xd8") and image.shape == (100, 200, 3)
    assert image[:, :98].mean() < 5 and image[:, 102:].mean() > 190


def test_masked_jpeg_without_masks_keeps_the_bytes() -> None:
    original = _jpeg(_grey())

    assert masked_jpeg(original, []) is original


@pytest.mark.parametrize("data", [b"", b"<html>not a picture</html>", b"\xff\xd8\xff\xe0 truncated"])
def test_masked_jpeg_refuses_what_is_not_a_picture(data: bytes) -> None:
    with pytest.raises(ValueError) as info:
        masked_jpeg(data, [LEFT_HALF])

    assert str(info.value) == "not a decodable JPEG image"
