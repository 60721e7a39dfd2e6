"""The recording section: pre/post roll, clip length, the in-memory ring buffer, continuous segments."""

from __future__ import annotations

from pydantic import Field, model_validator

from hub.config.base import StrictModel, check_failed

MIB = 1024 * 1024


class RecordingSettings(StrictModel):
    pre_roll_s: float = Field(
        5.0, ge=0, le=60, title="Pre-roll", description="Seconds of video kept before an event starts."
    )
    post_roll_s: float = Field(
        5.0, ge=0, le=60, title="Post-roll", description="Seconds of video kept after an event ends."
    )
    max_clip_s: float = Field(
        120, ge=5, le=3600, title="Longest clip", description="A clip is cut after this many seconds."
    )
    ring_buffer_s: float = Field(
        30,
        gt=0,
        le=600,
        title="Ring buffer length",
        description="Seconds of encoded video kept in memory per camera; must exceed pre_roll_s "
        "by at least one GOP.",
    )
    ring_buffer_bytes: int = Field(
        64 * MIB,
        ge=1 * MIB,
        le=4096 * MIB,
        title="Ring buffer size",
        description="Upper bound of the per-camera ring buffer in bytes.",
    )
    merge_gap_s: float = Field(
        3.0,
        ge=0,
        le=600,
        title="Merge gap",
        description="Events closer together than this extend one clip instead of starting a new one.",
    )

    continuous: bool = Field(
        False,
        title="Continuous recording",
        description="Record every camera all the time in fixed-length segments (cameras may override).",
    )
    segment_s: float = Field(
        60,
        ge=5,
        le=600,
        title="Segment length",
        description="Continuous recording is cut into files of about this many seconds, on keyframes.",
    )

    @model_validator(mode="after")
    def _checks(self) -> RecordingSettings:
        verify_ring_buffer_holds_pre_roll(self)
        return self


def verify_ring_buffer_holds_pre_roll(recording: RecordingSettings) -> None:
    if recording.pre_roll_s >= recording.ring_buffer_s:
        raise check_failed(
            f"ring_buffer_s ({recording.ring_buffer_s:g}) must be longer than pre_roll_s "
            f"({recording.pre_roll_s:g}) plus one GOP, or the pre-roll cannot be recorded",
            "ring_buffer_s",
        )
