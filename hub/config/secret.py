"""The hub's secret key: configured, or generated once and kept in ``<data_dir>/secret.key``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from hub.config.errors import ConfigError, ConfigProblem
from hub.config.hub import HubSettings

SECRET_FILE_NAME = "secret.key"


def secret_key_path(settings: HubSettings) -> Path:
    return settings.data_dir / SECRET_FILE_NAME


def load_or_create_secret(settings: HubSettings) -> bytes:
    """The configured ``secret_key``, else the persisted one, else a new random key (saved 0600)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = secret_key_path(settings)
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        raise _secret_error(path, f"cannot read it ({err.strerror})") from err
    key = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)  # another process won the race: use its key
    except OSError as err:
        raise _secret_error(path, f"cannot create it ({err.strerror})") from err
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key + "\n")
        file.flush()
        os.fsync(file.fileno())
    return key.encode()


def _read_secret(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if not key:
        raise _secret_error(path, "the file is empty; delete it to generate a new key")
    return key


def _secret_error(path: Path, reason: str) -> ConfigError:
    return ConfigError([ConfigProblem("secret_key", f"{path}: {reason}")])
