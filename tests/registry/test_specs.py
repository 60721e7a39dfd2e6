"""Pure checks of what clients send: masks, URLs, tags, locations, protocols, and CSV reading."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hub.registry.errors import InvalidImport
from hub.registry.importer import parse_csv
from hub.registry.masks import polygon_area, polygon_problem
from hub.registry.specs import CameraPatch, CameraSpec


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        ([[0, 0], [1, 0], [1, 1]], None),
        ([[0, 0], [1, 0]], "a mask needs at least 3 points, got 2"),
        ([[0, 0]] * 65, "a mask has at most 64 points, got 65"),
        ([[0, 0], [1, 0], [1, 1, 1]], "point 2 must be [x, y], got 3 value(s)"),
        (
            [[0, 0], [1, -0.1], [1, 1]],
            "point 1 [1, -0.1] must lie in 0..1 (coordinates are fractions of the picture)",
        ),
        ([[0, 0], [0.5, 0.5], [1, 1]], "the mask has no area (its points lie on one line)"),
    ],
)
def test_polygon_problem(points: list[list[float]], problem: str | None) -> None:
    assert polygon_problem(points) == problem


def test_polygon_area() -> None:
    assert polygon_area([(0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)]) == 0.25


def _errors(
    data: dict[str, Any], model: type[CameraSpec | CameraPatch] = CameraSpec
) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in caught.value.errors()]


def test_defaults_of_a_minimal_camera() -> None:
    spec = CameraSpec.model_validate({"id": "gate", "main_url": "rtsp://192.0.2.1/live"})

    assert spec.model_dump(exclude_none=True) == {
        "id": "gate",
        "name": "gate",
        "kind": "other",
        "tags": [],
        "protocol": "rtsp",
        "main_url": "rtsp://192.0.2.1/live",
        "ptz": False,
        "enabled": True,
        "privacy_masks": [],
    }


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"main_url": "http://192.0.2.1/"},
            [("main_url", "URL must start with rtsp:// or rtsps://, got http://")],
        ),
        (
            {"snapshot_url": "http://u:p@192.0.2.1/snap.jpg"},
            [("snapshot_url", "URL must not hold credentials: put them in username and password")],
        ),
        ({"onvif_url": "https:///onvif"}, [("onvif_url", "URL has no host")]),
        ({"longitude": 181, "latitude": 0}, [("longitude", "Input should be less than or equal to 180")]),
        ({"latitude": 10}, [("longitude", "latitude and longitude go together: give both or neither")]),
        ({"protocol": "onvif"}, [("onvif_url", "is required when protocol is onvif")]),
        (
            {"retention": {"event_clip_days": 0}},
            [("retention.event_clip_days", "Input should be greater than or equal to 1")],
        ),
        ({"analysis": {"fps": 60}}, [("analysis.fps", "Input should be less than or equal to 30")]),
        ({"colour": "red"}, [("colour", "Extra inputs are not permitted")]),
    ],
)
def test_camera_spec_errors(data: dict[str, Any], errors: list[tuple[str, str]]) -> None:
    assert _errors({"id": "gate", "main_url": "rtsp://192.0.2.1/live", **data}) == errors


def test_tags_are_trimmed_and_deduplicated() -> None:
    spec = CameraSpec.model_validate({"id": "g", "main_url": "rtsp://h/", "tags": [" gate", "gate ", "村口"]})

    assert spec.tags == ["gate", "村口"]


def test_a_patch_may_clear_nullable_fields_only() -> None:
    assert CameraPatch.model_validate({"sub_url": None, "password": None}).model_fields_set == {
        "sub_url",
        "password",
    }
    assert _errors({"tags": None, "enabled": None}, CameraPatch) == [
        ("tags", "may not be null"),
        ("enabled", "may not be null"),
    ]


def test_csv_rows_keep_their_starting_line() -> None:
    body = b'id,name,tags\r\ncam-1,"A\r\nB",x;y\r\n\r\ncam-2,,\r\n'

    assert parse_csv(body) == [
        (2, {"id": "cam-1", "name": "A\r\nB", "tags": ["x", "y"]}),
        (5, {"id": "cam-2"}),
    ]


def test_a_bom_and_upper_case_header_are_accepted() -> None:
    assert parse_csv("\ufeffID,Main_URL\ncam,rtsp://h/\n".encode()) == [
        (2, {"id": "cam", "main_url": "rtsp://h/"})
    ]


def test_an_unterminated_quote_is_an_import_error() -> None:
    with pytest.raises(InvalidImport, match="the CSV cannot be read at line"):
        parse_csv(b'id,name\ncam,"open\n')
