"""Request and response models of an event's evidence keep (``/events/{id}/keep``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.config.storage import ObjectLockMode
from hub.db.models import KeepLock

KEEP_IN_EXAMPLE: dict[str, Any] = {
    "by": "duty officer Li Wei",
    "reason": "case 2024-0412: vehicle at the village gate",
}
KEEP_EXAMPLE: dict[str, Any] = {
    **KEEP_IN_EXAMPLE,
    "at": "2024-05-01T12:30:00Z",
    "until": "2025-05-01T12:30:00Z",
    "lock": {"mode": "governance", "state": "locked", "error": ""},
}


class KeepIn(BaseModel):
    """Who keeps the event and why; both are recorded with it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [KEEP_IN_EXAMPLE]})

    by: str = Field(min_length=1, max_length=128, description="The operator who keeps it")
    reason: str = Field(min_length=1, max_length=2000, description="Why: a case number, an incident")

    @field_validator("by", "reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class LockOut(BaseModel):
    """How the kept media are locked in the object store (WORM)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                KEEP_EXAMPLE["lock"],
                {
                    "mode": "legal_hold",
                    "state": "pending",
                    "error": "object store unavailable: connection refused",
                },
            ]
        }
    )

    mode: ObjectLockMode | None = Field(description="None: object lock was off when keep was marked")
    state: KeepLock = Field(description="pending: media in the spool, or the store was down (retried)")
    error: str = Field(description="Why the lock is pending or failed")


class KeepOut(BaseModel):
    """The evidence hold: retention and the quota never delete this event's media."""

    model_config = ConfigDict(json_schema_extra={"examples": [KEEP_EXAMPLE]})

    by: str
    reason: str
    at: datetime = Field(description="When keep was marked")
    until: datetime | None = Field(
        description="When the lock's retention runs out; None for a legal hold or without object lock. "
        "The keep itself lasts until it is released."
    )
    lock: LockOut
