"""Privacy masks: polygons over the picture, each point ``[x, y]`` normalised to 0..1.

Pure checks, so they are tested without a database; the pydantic types in ``specs`` call them.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_POINTS = 3
MAX_POINTS = 64
MAX_MASKS = 32
MIN_AREA = 1e-6  # of the whole picture: anything smaller is a degenerate (collinear) polygon


def polygon_area(points: Sequence[Sequence[float]]) -> float:
    """The shoelace area of a closed polygon (the last point joins the first)."""
    twice = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2


def polygon_problem(points: Sequence[Sequence[float]]) -> str | None:
    """Why ``points`` is not a usable mask polygon, or None."""
    if len(points) < MIN_POINTS:
        return f"a mask needs at least {MIN_POINTS} points, got {len(points)}"
    if len(points) > MAX_POINTS:
        return f"a mask has at most {MAX_POINTS} points, got {len(points)}"
    for index, point in enumerate(points):
        if len(point) != 2:
            return f"point {index} must be [x, y], got {len(point)} value(s)"
        if not all(0.0 <= value <= 1.0 for value in point):
            return f"point {index} {list(point)} must lie in 0..1 (coordinates are fractions of the picture)"
    if polygon_area(points) < MIN_AREA:
        return "the mask has no area (its points lie on one line)"
    return None
