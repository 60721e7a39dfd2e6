"""Loading: the example file, environment overrides, derived defaults and the secret key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import hub.config
from hub.config import (
    HubSettings,
    LogLevel,
    StorageBackend,
    Transport,
    load_or_create_secret,
    load_settings,
)

EXAMPLE = Path(hub.config.__file__).parent / "example.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_loads_cleanly() -> None:
    settings = load_settings(EXAMPLE, env={})
    assert [camera.id for camera in settings.cameras] == ["front-door", "yard"]
    front, yard = settings.cameras
    assert (front.name, front.transport, front.username) == ("Front door", Transport.TCP, "viewer")
    assert front.password is not None and front.password.get_secret_value() == "change-me"
    assert (yard.name, yard.enabled, yard.analysis_fps) == ("yard", False, 2.0)
    assert settings.storage.backend is StorageBackend.LOCAL
    assert settings.effective_database_url() == "sqlite+aiosqlite:///data/hub.db"


def test_example_shows_the_defaults() -> None:
    example = load_settings(EXAMPLE, env={}).model_dump(exclude={"cameras"})
    assert example == load_settings(None, env={}).model_dump(exclude={"cameras"})


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, env={"HUB_DATA_DIR": str(tmp_path)})
    assert settings.data_dir == tmp_path
    assert settings.storage.local_path == tmp_path / "objects"
    assert settings.storage.spool_dir == tmp_path / "spool"
    assert settings.api.public_url == "http://127.0.0.1:8080"
    assert settings.effective_database_url() == f"sqlite+aiosqlite:///{tmp_path}/hub.db"
    assert settings.log_level is LogLevel.INFO
    assert settings.cameras == []


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, "# nothing yet\n"), env={})
    assert settings.api.port == 8080


def test_environment_beats_yaml(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "database_url: sqlite:///from-yaml.db\n"
        "api:\n  host: 0.0.0.0\n  port: 8000\n"
        "storage:\n  backend: local\n",
    )
    env = {
        "HUB_API__PORT": "9000",
        "HUB_DATABASE_URL": "postgresql://hub:pw@db:5432/hub",
        "HUB_STORAGE__BACKEND": "s3",
        "HUB_LOG_LEVEL": "DEBUG",
        "UNRELATED": "x",
    }
    settings = load_settings(path, env=env)
    assert (settings.api.host, settings.api.port) == ("0.0.0.0", 9000)
    assert settings.api.public_url == "http://0.0.0.0:9000"
    assert settings.storage.backend is StorageBackend.S3
    assert settings.effective_database_url() == "postgresql+asyncpg://hub:pw@db:5432/hub"
    assert settings.log_level is LogLevel.DEBUG


def test_nested_environment_keeps_the_rest_of_the_section(tmp_path: Path) -> None:
    path = _write(tmp_path, "storage:\n  s3:\n    bucket: clips\n    secure: true\n")
    settings = load_settings(path, env={"HUB_STORAGE__S3__ENDPOINT": "s3.example.net:443"})
    assert (settings.storage.s3.endpoint, settings.storage.s3.bucket, settings.storage.s3.secure) == (
        "s3.example.net:443",
        "clips",
        True,
    )


def test_os_environ_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_API__PORT", "8181")
    assert load_settings(None).api.port == 8181
    assert HubSettings().api.port == 8181


def test_env_parameter_replaces_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_API__PORT", "8181")
    assert load_settings(None, env={}).api.port == 8080


@pytest.mark.parametrize(
    ("given", "effective"),
    [
        ("sqlite:///var/hub.db", "sqlite+aiosqlite:///var/hub.db"),
        ("sqlite:////var/lib/hub.db", "sqlite+aiosqlite:////var/lib/hub.db"),
        ("postgresql://hub@127.0.0.1/hub", "postgresql+asyncpg://hub@127.0.0.1/hub"),
        ("postgresql+asyncpg://hub@127.0.0.1/hub", "postgresql+asyncpg://hub@127.0.0.1/hub"),
    ],
)
def test_effective_database_url(given: str, effective: str) -> None:
    assert load_settings(None, env={"HUB_DATABASE_URL": given}).effective_database_url() == effective


def test_secret_key_is_generated_once_and_reused(tmp_path: Path) -> None:
    settings = load_settings(None, env={"HUB_DATA_DIR": str(tmp_path / "data")})
    key = load_or_create_secret(settings)
    path = tmp_path / "data" / "secret.key"
    assert len(key) >= 32
    assert path.read_bytes().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(settings) == key
    other = load_settings(None, env={"HUB_DATA_DIR": str(tmp_path / "other")})
    assert load_or_create_secret(other) != key


def test_configured_secret_key_wins(tmp_path: Path) -> None:
    settings = load_settings(None, env={"HUB_DATA_DIR": str(tmp_path), "HUB_SECRET_KEY": "s3cr3t"})
    assert load_or_create_secret(settings) == b"s3cr3t"
    assert not (tmp_path / "secret.key").exists()


def test_secrets_never_appear_in_repr_or_str(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "secret_key: topsecret-1\nstorage:\n  s3:\n    secret_key: topsecret-2\n"
        "webhook:\n  secret: topsecret-3\n"
        "cameras:\n  - id: cam\n    url: rtsp://h/\n    password: topsecret-4\n",
    )
    settings = load_settings(path, env={})
    for text in (repr(settings), str(settings), repr(settings.cameras[0]), repr(settings.storage)):
        assert "topsecret" not in text
    assert "topsecret" not in settings.model_dump_json()
    assert settings.cameras[0].password is not None
    assert settings.cameras[0].password.get_secret_value() == "topsecret-4"
