"""The root of the configuration: paths, database, secret key, and every section."""

from __future__ import annotations

import base64
import binascii
import enum
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hub.config.api import ApiSettings
from hub.config.base import CHECK_ERROR_TYPE, check_failed
from hub.config.camera import CameraConfig, duplicate_ids
from hub.config.ingest import IngestSettings
from hub.config.motion import MotionSettings
from hub.config.recording import RecordingSettings
from hub.config.retention import RetentionSettings
from hub.config.storage import StorageSettings
from hub.config.webhook import WebhookSettings
from hub.db.engine import async_database_url

ENV_PREFIX = "HUB_"
ENV_NESTED_DELIMITER = "__"
FERNET_KEY_HELP = (
    "credentials_key must be a urlsafe base64 encoding of 32 bytes; generate one with "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def is_fernet_key(key: str) -> bool:
    """Whether ``key`` is what ``cryptography.fernet.Fernet`` takes: urlsafe base64 of 32 bytes."""
    try:
        return len(base64.urlsafe_b64decode(key.strip().encode("ascii"))) == 32
    except (binascii.Error, UnicodeEncodeError):
        return False


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class HubSettings(BaseSettings):
    """Everything the hub reads at start-up. Environment variables (``HUB_…``) beat the YAML file.

    After validation ``storage.local_path``, ``storage.spool_dir`` and ``api.public_url`` are
    never None: their defaults are filled in from ``data_dir`` and the API address.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        case_sensitive=False,
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(
        Path("data"), title="Data directory", description="Holds the SQLite database, spool and secret key."
    )
    database_url: str | None = Field(
        None,
        title="Database URL",
        description="sqlite:///path or postgresql://user@host/db; default SQLite in data_dir.",
    )
    secret_key: SecretStr | None = Field(
        None,
        title="Secret key",
        description="Signs presigned local URLs and (by default) webhooks; "
        "generated into <data_dir>/secret.key when unset.",
    )
    credentials_key: SecretStr | None = Field(
        None,
        title="Credentials key",
        description="Fernet key (urlsafe base64 of 32 bytes) that encrypts camera passwords in the "
        "database; default the key in credentials_key_file.",
    )
    credentials_key_file: Path | None = Field(
        None,
        title="Credentials key file",
        description="Holds the credentials key when credentials_key is unset; default "
        "<data_dir>/credentials.key, created (mode 0600) while no password is stored yet.",
    )
    log_level: LogLevel = Field(LogLevel.INFO, title="Log level", description="debug, info, warning, …")
    api: ApiSettings = Field(default_factory=ApiSettings, title="API", description="The HTTP API.")
    storage: StorageSettings = Field(
        default_factory=StorageSettings, title="Storage", description="Where media goes."
    )
    ingest: IngestSettings = Field(
        default_factory=IngestSettings, title="Ingest", description="Opening and reconnecting cameras."
    )
    recording: RecordingSettings = Field(
        default_factory=RecordingSettings, title="Recording", description="Clip recording."
    )
    motion: MotionSettings = Field(
        default_factory=MotionSettings, title="Motion", description="The motion detector."
    )
    webhook: WebhookSettings = Field(
        default_factory=WebhookSettings, title="Webhook", description="Ticket delivery."
    )
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings, title="Retention", description="How long media is kept."
    )
    cameras: list[CameraConfig] = Field(
        default_factory=list, title="Cameras", description="The cameras the hub opens."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment beats the values given in code (the YAML file): no .env, no secrets dir.
        return env_settings, init_settings

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_log_level(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("credentials_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_fernet_key(value.get_secret_value()):
            raise ValueError(FERNET_KEY_HELP)
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must start with sqlite:// or postgresql://")
        return value

    @field_validator("cameras", mode="wrap")
    @classmethod
    def _unique_camera_ids(cls, cameras: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # Checked on the raw items too, so a duplicate is reported along with a broken camera.
        duplicates = duplicate_ids(cameras) if isinstance(cameras, list) else []
        errors = [
            InitErrorDetails(type=check_failed(message), loc=(index, "id"), input=cameras[index])
            for index, message in duplicates
        ]
        try:
            validated = handler(cameras)
        except ValidationError as err:
            if not errors:
                raise
            raise ValidationError.from_exception_data(err.title, [*_reraisable(err), *errors]) from None
        if errors:
            raise ValidationError.from_exception_data("cameras", errors)
        return validated

    @model_validator(mode="after")
    def _fill_paths(self) -> HubSettings:
        if self.storage.local_path is None:
            self.storage.local_path = self.data_dir / "objects"
        if self.storage.spool_dir is None:
            self.storage.spool_dir = self.data_dir / "spool"
        return self

    def effective_database_url(self) -> str:
        """The SQLAlchemy async URL: ``database_url`` with an async driver, or SQLite in ``data_dir``."""
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.data_dir / 'hub.db'}"
        return async_database_url(self.database_url)


def _reraisable(err: ValidationError) -> list[InitErrorDetails]:
    """The errors of ``err`` in the form ``ValidationError.from_exception_data`` takes back."""
    details = []
    for error in err.errors():
        ctx = error.get("ctx") or {}
        if error["type"] == CHECK_ERROR_TYPE:
            kind: Any = check_failed(str(ctx.get("detail", error["msg"])), *ctx.get("at", ()))
            details.append(InitErrorDetails(type=kind, loc=error["loc"], input=error["input"]))
        else:
            details.append(
                InitErrorDetails(type=error["type"], loc=error["loc"], input=error["input"], ctx=ctx)
            )
    return details
