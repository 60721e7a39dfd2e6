"""The deployment files agree with each other and with the hub's settings.

No Docker engine is needed: docker-compose.yml is read as YAML, its ``${…}`` references are
resolved the way Compose resolves them, and the hub's ``HUB_…`` variables go through the real
settings loader, so a misspelt or invalid variable fails here instead of at container start.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import BaseModel

from hub.config import HubSettings, StorageBackend, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
DEPLOY_CONFIG = REPO_ROOT / "deploy" / "hub.yaml"

CONFIG_TARGET = "/etc/hub/hub.yaml"
HEALTHZ_URL = "http://127.0.0.1:8080/api/v1/healthz"
SHELL = {"HUB_SECRET_KEY": "test-secret-key"}  # the one variable Compose requires

# "$$", "${NAME}", "${NAME:-default}" and "${NAME:?message}": the forms docker-compose.yml uses.
_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(value: str, shell: Mapping[str, str]) -> str:
    """``value`` with its references resolved from ``shell``, as ``docker compose`` does."""

    def resolve(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        if shell.get(name):
            return shell[name]
        if operator == ":?":
            raise MissingVariable(f"{name}: {argument}")
        return argument if operator == ":-" else ""

    return _REFERENCE.sub(resolve, value)


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def service(name: str) -> dict[str, Any]:
    found = load_compose()["services"][name]
    assert isinstance(found, dict)
    return found


def raw_environment(name: str) -> dict[str, str | None]:
    environment = service(name)["environment"]
    assert isinstance(environment, dict), "use the mapping form of environment"
    return {str(key): None if value is None else str(value) for key, value in environment.items()}


def container_environment(name: str, shell: Mapping[str, str]) -> dict[str, str]:
    """The variables the container gets; a key without a value passes the shell's through, if set."""
    resolved = {}
    for key, value in raw_environment(name).items():
        if value is not None:
            resolved[key] = interpolate(value, shell)
        elif key in shell:
            resolved[key] = shell[key]
    return resolved


def hub_settings(shell: Mapping[str, str] = SHELL) -> HubSettings:
    return load_settings(None, env=container_environment("hub", shell))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def exec_form(arguments: str) -> list[str]:
    parsed = json.loads(arguments)
    assert isinstance(parsed, list)
    return [str(item) for item in parsed]


def volume_mounts(name: str) -> dict[str, str]:
    """Target → source of each short-syntax volume of the service."""
    mounts = {}
    for entry in service(name).get("volumes", []):
        source, target, *_ = str(entry).split(":")
        mounts[target] = source
    return mounts


def test_the_three_services_exist() -> None:
    assert set(load_compose()["services"]) == {"minio", "postgres", "hub"}
    assert "version" not in load_compose()


def test_hub_is_built_from_the_dockerfile_at_the_root() -> None:
    assert service("hub")["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert DOCKERFILE.is_file()


def test_hub_waits_for_healthy_minio_and_postgres() -> None:
    assert service("hub")["depends_on"] == {
        "minio": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    assert service("minio")["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    postgres_test = service("postgres")["healthcheck"]["test"]
    assert postgres_test[0] == "CMD-SHELL"
    assert postgres_test[1].startswith("pg_isready ")


def test_minio_is_pinned_to_a_release() -> None:
    assert re.fullmatch(r"minio/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", service("minio")["image"])
    assert service("minio")["command"] == "server /data --console-address :9001"
    assert service("postgres")["image"] == "postgres:16"


def test_hub_environment_loads_into_the_documented_settings() -> None:
    settings = hub_settings()

    assert settings.storage.backend is StorageBackend.S3
    assert settings.storage.s3.endpoint == "minio:9000"
    assert settings.storage.s3.secure is False
    assert settings.storage.s3.bucket == "sharp-eyes"
    assert settings.database_url == "postgresql://hub:hub@postgres:5432/hub"
    assert urlsplit(settings.database_url).hostname == "postgres"
    assert settings.api.host == "0.0.0.0"
    assert settings.api.port == 8080
    assert settings.api.public_url == "http://localhost:8080"
    assert settings.data_dir == Path("/data")
    assert settings.storage.spool_dir == Path("/data/spool")
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "test-secret-key"
    assert settings.webhook.url is None
    assert settings.webhook.secret is None


def _field_path_exists(model: type[BaseModel], parts: list[str]) -> bool:
    field = model.model_fields.get(parts[0])
    if field is None:
        return False
    if len(parts) == 1:
        return True
    annotation = field.annotation
    return (
        isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
        and (_field_path_exists(annotation, parts[1:]))
    )


def test_every_hub_variable_names_a_settings_field() -> None:
    # The loader ignores an unknown top-level HUB_ variable, so the names are checked on their own.
    names = list(raw_environment("hub"))
    assert all(name.startswith("HUB_") for name in names)
    unknown = [
        name
        for name in names
        if not _field_path_exists(HubSettings, name.removeprefix("HUB_").lower().split("__"))
    ]
    assert unknown == []


def test_webhook_variables_pass_through_from_the_shell() -> None:
    environment = raw_environment("hub")
    assert environment["HUB_WEBHOOK__URL"] is None
    assert environment["HUB_WEBHOOK__SECRET"] is None

    shell = {**SHELL, "HUB_WEBHOOK__URL": "https://grid.example.net/api/tickets", "HUB_WEBHOOK__SECRET": "s"}
    settings = hub_settings(shell)

    assert settings.webhook.url == "https://grid.example.net/api/tickets"
    assert settings.webhook.secret is not None
    assert settings.webhook.secret.get_secret_value() == "s"


def test_the_secret_key_is_required() -> None:
    assert raw_environment("hub")["HUB_SECRET_KEY"] == "${HUB_SECRET_KEY:?set HUB_SECRET_KEY}"
    with pytest.raises(MissingVariable, match=r"^HUB_SECRET_KEY: set HUB_SECRET_KEY$"):
        container_environment("hub", {})


def test_hub_s3_credentials_are_the_minio_root_user() -> None:
    hub, minio = raw_environment("hub"), raw_environment("minio")
    assert hub["HUB_STORAGE__S3__ACCESS_KEY"] == minio["MINIO_ROOT_USER"] == "${MINIO_ROOT_USER:-minioadmin}"
    assert hub["HUB_STORAGE__S3__SECRET_KEY"] == minio["MINIO_ROOT_PASSWORD"]

    shell = {**SHELL, "MINIO_ROOT_USER": "admin", "MINIO_ROOT_PASSWORD": "long-password"}
    settings = hub_settings(shell)

    assert settings.storage.s3.access_key == "admin"
    assert settings.storage.s3.secret_key.get_secret_value() == "long-password"
    assert container_environment("minio", shell) == {
        "MINIO_ROOT_USER": "admin",
        "MINIO_ROOT_PASSWORD": "long-password",
    }


def test_hub_database_url_is_the_postgres_service() -> None:
    shell = {**SHELL, "POSTGRES_DB": "video", "POSTGRES_USER": "grid", "POSTGRES_PASSWORD": "pw"}
    settings = hub_settings(shell)

    assert settings.database_url is not None
    url = urlsplit(settings.database_url)
    postgres = container_environment("postgres", shell)
    assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432)
    assert (url.username, url.password, url.path) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        "/" + postgres["POSTGRES_DB"],
    )


def test_published_ports() -> None:
    assert service("hub")["ports"] == ["8080:8080"]
    assert service("minio")["ports"] == ["9000:9000", "9001:9001"]
    # PostgreSQL stays on the compose network: only the hub talks to it.
    assert "ports" not in service("postgres")


def test_every_named_volume_is_declared() -> None:
    used = set()
    for name in load_compose()["services"]:
        for source in volume_mounts(name).values():
            if source.startswith((".", "/")):
                assert (REPO_ROOT / source).exists(), source
            else:
                used.add(source)
    assert used == set(load_compose()["volumes"]) == {"minio-data", "postgres-data", "hub-data"}
    assert volume_mounts("hub") == {"/data": "hub-data", CONFIG_TARGET: "./deploy/hub.yaml"}
    assert service("hub")["volumes"][1] == f"./deploy/hub.yaml:{CONFIG_TARGET}:ro"


def test_deploy_config_loads() -> None:
    settings = load_settings(DEPLOY_CONFIG, env={})
    assert settings.cameras == []
    assert settings.log_level == "info"

    with_compose = load_settings(DEPLOY_CONFIG, env=container_environment("hub", SHELL))
    assert with_compose.storage.backend is StorageBackend.S3
    assert with_compose.cameras == []


def test_deploy_config_camera_example_loads(tmp_path: Path) -> None:
    lines = DEPLOY_CONFIG.read_text(encoding="utf-8").splitlines()
    start = lines.index("# cameras:")
    example = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        example.append(line.removeprefix("# "))
    config = tmp_path / "hub.yaml"
    config.write_text("\n".join(example) + "\n", encoding="utf-8")

    settings = load_settings(config, env={})

    cameras = [(camera.id, camera.enabled) for camera in settings.cameras]
    assert cameras == [("front-door", True), ("yard", False)]


def test_dockerfile_is_multi_stage_on_python_slim() -> None:
    instructions = dockerfile_instructions()
    args = dict(arg.split("=", 1) for keyword, arg in instructions if keyword == "ARG" and "=" in arg)
    images = [
        interpolate(arguments.split()[0], args) for keyword, arguments in instructions if keyword == "FROM"
    ]
    assert images == ["python:3.11-slim", "python:3.11-slim"]
    assert any("pip wheel" in arguments for keyword, arguments in instructions if keyword == "RUN")


def test_dockerfile_runtime_stage() -> None:
    stage = final_stage()
    by_keyword: dict[str, list[str]] = {}
    for keyword, arguments in stage:
        by_keyword.setdefault(keyword, []).append(arguments)

    user = by_keyword["USER"][-1].split(":")[0]
    assert user not in ("root", "0")
    assert by_keyword["EXPOSE"] == ["8080"]
    assert exec_form(by_keyword["VOLUME"][0]) == ["/data"]
    assert exec_form(by_keyword["ENTRYPOINT"][0]) == ["hub"]
    assert exec_form(by_keyword["CMD"][-1]) == ["serve", "--config", CONFIG_TARGET]

    healthcheck = by_keyword["HEALTHCHECK"][0]
    options, _, command = healthcheck.partition(" CMD ")
    assert options.startswith("--interval=")
    probe = exec_form(command)
    assert probe[:2] == ["python", "-c"]
    assert HEALTHZ_URL in probe[2]


def test_dockerfile_matches_compose_and_settings() -> None:
    stage = final_stage()
    cmd = exec_form([arguments for keyword, arguments in stage if keyword == "CMD"][-1])
    assert cmd[cmd.index("--config") + 1] in volume_mounts("hub")
    assert "/data" in volume_mounts("hub")

    image_env: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for token in shlex.split(arguments):
                key, _, value = token.partition("=")
                image_env[key] = value
    settings = load_settings(None, env={k: v for k, v in image_env.items() if k.startswith("HUB_")})
    assert settings.data_dir == Path("/data")
    assert (settings.api.host, settings.api.port) == ("0.0.0.0", 8080)
    assert urlsplit(HEALTHZ_URL).port == settings.api.port


def test_dockerignore_lets_in_exactly_the_build_sources() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {pattern.removeprefix("!") for pattern in patterns if pattern.startswith("!")}

    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set()
    for keyword, arguments in dockerfile_instructions():
        if keyword == "COPY" and not arguments.startswith("--from"):
            copied.update(arguments.split()[:-1])
    expected = packages | {"pyproject.toml", pyproject["project"]["readme"], "deploy/hub.yaml"}
    assert copied == allowed == expected
