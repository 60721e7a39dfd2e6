"""Retention: media (and, once delivered, the event rows) are deleted when their days run out.

``policy`` decides what expires, as pure functions; ``sweeper`` applies it to the object store
and the database, objects first.
"""

from hub.retention.policy import EventMedia, ExpiryPlan, RetentionDays, expired_media, expired_segments
from hub.retention.sweeper import RetentionSweeper, SweepReport

__all__ = [
    "EventMedia",
    "ExpiryPlan",
    "RetentionDays",
    "RetentionSweeper",
    "SweepReport",
    "expired_media",
    "expired_segments",
]
