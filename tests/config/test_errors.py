"""Every problem names its exact location and the line of the YAML file it comes from."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hub.config import ConfigError, ConfigProblem, format_problems, load_settings


def _problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[ConfigProblem]:
    path = tmp_path / "hub.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env or {})
    return caught.value.problems


def test_three_errors_three_problems_at_their_lines(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
        api:
          host: 0.0.0.0
          port: 70000
        storage:
          backend: s4
        cameras:
          - id: front
            url: rtsp://10.0.0.5/stream1
          - id: back
            url: http://10.0.0.6/stream1
        """,
    )
    assert problems == [
        ConfigProblem("api.port", "Input should be less than or equal to 65535", 3, 3),
        ConfigProblem("storage.backend", "Input should be 'local' or 's3'", 5, 3),
        ConfigProblem(
            "cameras[1].url", "camera 'back': url must start with rtsp:// or rtsps://, got http://", 10, 5
        ),
    ]


def test_missing_key_points_at_its_parent(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
        cameras:
          - id: front
            url: rtsp://10.0.0.5/stream1
          - name: No id
            url: rtsp://10.0.0.6/
        """,
    )
    assert problems == [ConfigProblem("cameras[1].id", "camera id is required", 4, 5)]


def test_unknown_key_is_a_problem(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "motion:\n  treshold: 30\n")
    assert problems == [ConfigProblem("motion.treshold", "unknown setting (check the spelling)", 2, 3)]


def test_duplicate_camera_id_names_it_and_points_at_the_second(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
        cameras:
          - id: gate
            url: rtsp://10.0.0.5/
          - id: yard
            url: rtsp://10.0.0.6/
          - id: gate
            url: rtsp://10.0.0.7/
        """,
    )
    assert problems == [
        ConfigProblem("cameras[2].id", "camera id 'gate' is used twice (cameras[0] and cameras[2])", 6, 5)
    ]


def test_duplicate_id_is_reported_along_with_other_camera_errors(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
        cameras:
          - id: gate
            url: ftp://10.0.0.5/
          - id: gate
            url: rtsp://10.0.0.6/
        """,
    )
    assert [(p.location, p.line) for p in problems] == [("cameras[0].url", 3), ("cameras[1].id", 4)]


def test_cross_field_checks_point_at_the_key(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
        storage:
          backend: s3
          s3:
            bucket: Bad_Bucket
        recording:
          pre_roll_s: 10
          ring_buffer_s: 8
        """,
    )
    assert problems == [
        ConfigProblem(
            "storage.s3.bucket",
            "bucket name 'Bad_Bucket' may hold only lowercase letters, digits, '.' and '-', "
            "and must start and end with a letter or digit",
            4,
            5,
        ),
        ConfigProblem(
            "recording.ring_buffer_s",
            "ring_buffer_s (8) must be longer than pre_roll_s (10) plus one GOP, "
            "or the pre-roll cannot be recorded",
            7,
            3,
        ),
    ]


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "api:\n  port: 8080\n  host: [unclosed\nmotion: {}\n")
    assert len(problems) == 1
    assert problems[0].location == ""
    assert problems[0].message.startswith("invalid YAML: ")
    assert (problems[0].line, problems[0].column) == (4, 7)


def test_duplicate_yaml_key_is_a_problem(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "api:\n  port: 8080\n  port: 8081\n")
    assert problems == [ConfigProblem("api.port", "key given twice", 3, 3)]


def test_root_must_be_a_mapping(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "- a\n- b\n")
    assert problems == [
        ConfigProblem("", "the file must hold a mapping of settings (key: value), not a list", 1, 1)
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "missing.yaml", env={})
    assert caught.value.problems == [ConfigProblem("", "cannot read the file: No such file or directory")]


def test_environment_errors_name_the_variable(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        "api:\n  port: 8080\n",
        env={"HUB_API__PORT": "0", "HUB_STORAGE__BACKEND": "ftp"},
    )
    assert problems == [
        ConfigProblem("HUB_API__PORT", "Input should be greater than or equal to 1"),
        ConfigProblem("HUB_STORAGE__BACKEND", "Input should be 'local' or 's3'"),
    ]


def test_environment_json_error_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env={"HUB_CAMERAS": "not json"})
    [problem] = caught.value.problems
    assert problem.location == "HUB_CAMERAS"
    assert problem.message.startswith("the value must be JSON for this setting")


def test_format_problems(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    text = format_problems(
        [
            ConfigProblem("api.port", "too big", 3, 3),
            ConfigProblem("storage", "odd", 7, None),
            ConfigProblem("HUB_API__PORT", "too small"),
            ConfigProblem("", "cannot read the file: gone"),
        ],
        path,
    )
    assert text.splitlines() == [
        f"{path}:3:3: api.port: too big",
        f"{path}:7: storage: odd",
        "environment: HUB_API__PORT: too small",
        f"{path}: cannot read the file: gone",
    ]


def test_config_error_message_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text("api:\n  port: 0\nmotion:\n  threshold: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value).splitlines() == [
        f"{path}:2:3: api.port: Input should be greater than or equal to 1",
        f"{path}:4:3: motion.threshold: Input should be greater than or equal to 1",
    ]


def test_problems_never_echo_credentials_from_a_url(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "cameras:\n  - id: cam\n    url: rtsp://admin:hunter2@10.0.0.5/\n")
    assert problems == [
        ConfigProblem(
            "cameras[0].url",
            "camera 'cam': url must not hold credentials: put them in username and password",
            3,
            5,
        )
    ]
    assert "hunter2" not in format_problems(problems, tmp_path / "hub.yaml")
