"""The retention section: how many days each kind of media is kept, the storage quota, and how often
the sweeper runs.

A camera's ``retention`` (``hub.registry.specs.RetentionSpec``) overrides these days field by field.
Events an operator marks keep are never deleted by days or by the quota.
"""

from __future__ import annotations

from pydantic import Field

from hub.config.base import StrictModel


class RetentionSettings(StrictModel):
    event_clip_days: int = Field(
        30,
        ge=1,
        le=3650,
        title="Event clips",
        description="Days an event's clip is kept after the event ended.",
    )
    snapshot_days: int = Field(
        30,
        ge=1,
        le=3650,
        title="Snapshots",
        description="Days an event's snapshot and thumbnail are kept after the event ended.",
    )
    continuous_days: int = Field(
        7,
        ge=1,
        le=3650,
        title="Continuous recording",
        description="Days continuous-recording segments (segments/<camera>/...) are kept.",
    )
    quota_bytes: int | None = Field(
        None,
        ge=1024 * 1024,
        title="Storage quota",
        description=(
            "Bytes the stored media (clips, snapshots, thumbnails, continuous segments) may take; "
            "over it, each sweep deletes the oldest continuous segments first, then the oldest event "
            "media, never kept events nor media whose ticket is undelivered. None: no quota."
        ),
    )
    sweep_interval_s: float = Field(
        3600,
        ge=60,
        le=86400,
        title="Sweep interval",
        description="Seconds between two retention sweeps.",
    )
    batch_size: int = Field(
        500,
        ge=1,
        le=10000,
        title="Batch size",
        description="Events examined, and their rows changed, per database transaction.",
    )
