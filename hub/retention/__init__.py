"""Retention: media (and, once delivered, the event rows) are deleted when their days run out, and
the oldest go first when the stored media exceed the quota; kept events are never touched.

``policy`` and ``quota`` decide what goes, as pure functions; ``rows`` reads and writes the
database; ``sweeper`` applies them to the object store and the database, objects first.
"""

from hub.retention.policy import EventMedia, ExpiryPlan, RetentionDays, expired_media, expired_segments
from hub.retention.quota import QuotaChoice, StoredSegment, Usage, event_media_to_free, segments_to_free
from hub.retention.sweeper import QuotaStatus, RetentionSweeper, SweepReport, retention_status

__all__ = [
    "EventMedia",
    "ExpiryPlan",
    "QuotaChoice",
    "QuotaStatus",
    "RetentionDays",
    "RetentionSweeper",
    "StoredSegment",
    "SweepReport",
    "Usage",
    "event_media_to_free",
    "expired_media",
    "expired_segments",
    "retention_status",
    "segments_to_free",
]
