"""Configuration: one pydantic model per section, loaded from YAML with ``HUB_…`` overrides.

``load_settings`` is the entry point; it raises ``ConfigError`` whose ``problems`` each name the
dotted location and the YAML line. Nothing is read at import time.
"""

from hub.config.api import ApiSettings
from hub.config.camera import CameraConfig, Transport
from hub.config.errors import ConfigError, ConfigProblem, format_problems
from hub.config.hub import HubSettings, LogLevel
from hub.config.ingest import IngestSettings
from hub.config.loader import load_settings
from hub.config.motion import MotionSettings
from hub.config.recording import RecordingSettings
from hub.config.retention import RetentionSettings
from hub.config.secret import load_or_create_secret
from hub.config.storage import S3Settings, StorageBackend, StorageSettings
from hub.config.webhook import WebhookSettings

__all__ = [
    "ApiSettings",
    "CameraConfig",
    "ConfigError",
    "ConfigProblem",
    "HubSettings",
    "IngestSettings",
    "LogLevel",
    "MotionSettings",
    "RecordingSettings",
    "RetentionSettings",
    "S3Settings",
    "StorageBackend",
    "StorageSettings",
    "Transport",
    "WebhookSettings",
    "format_problems",
    "load_or_create_secret",
    "load_settings",
]
