"""The motion detector section (frame differencing on a downscaled grey image)."""

from __future__ import annotations

from pydantic import Field

from hub.config.base import StrictModel


class MotionSettings(StrictModel):
    analysis_fps: float = Field(
        5.0, ge=0.5, le=30, title="Analysis rate", description="Frames per second fed to the detector."
    )
    downscale_width: int = Field(
        320, ge=32, le=3840, title="Analysis width", description="Frames are scaled to this width first."
    )
    threshold: int = Field(
        25, ge=1, le=255, title="Pixel threshold", description="Grey-level difference that counts as change."
    )
    min_area_fraction: float = Field(
        0.005,
        ge=0,
        le=1,
        title="Minimum changed area",
        description="Fraction of the frame that must change for a frame to count as motion.",
    )
    start_frames: int = Field(
        2, ge=1, le=100, title="Start frames", description="Consecutive motion frames that open an event."
    )
    end_quiet_s: float = Field(
        2.0, ge=0, le=600, title="Quiet time", description="Seconds without motion that close an event."
    )
    warmup_s: float = Field(
        2.0,
        ge=0,
        le=600,
        title="Warm-up",
        description="Seconds after (re)connecting during which motion is ignored.",
    )
