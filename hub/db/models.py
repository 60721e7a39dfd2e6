"""Tables. Times are timezone-aware UTC; ids of events and tickets are UUID strings; ids of
cameras and regions are URL-safe slugs.

Every change to these classes needs an Alembic revision in ``hub/db/migrations/versions``;
``tests/db/test_migrations.py`` fails when the models and the migrations disagree.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.config.storage import ObjectLockMode


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes; SQLite gives naive ones back, so re-attach UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Named constraints, so SQLite batch migrations can drop or alter them later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class CameraStatus(enum.StrEnum):
    UNKNOWN = "unknown"
    CONNECTING = "connecting"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    UNAUTHORIZED = "unauthorized"
    ERROR = "error"


class CameraKind(enum.StrEnum):
    """Which network a camera belongs to."""

    VILLAGE = "village"
    PUBLIC_SECURITY = "public-security"
    TRAFFIC = "traffic"
    OTHER = "other"


class CameraProtocol(enum.StrEnum):
    ONVIF = "onvif"
    RTSP = "rtsp"


class CameraSource(enum.StrEnum):
    """Who owns the row: the YAML config (read-only through the API) or the registry API."""

    CONFIG = "config"
    API = "api"


class EventState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class MediaState(enum.StrEnum):
    """Where an event's clip (or snapshot) is: being recorded, waiting in the spool, in the store,
    or deleted by retention (``expired``: the key is kept for the record, the object is gone)."""

    NONE = "none"
    RECORDING = "recording"
    SPOOLED = "spooled"
    STORED = "stored"
    FAILED = "failed"
    EXPIRED = "expired"


class KeepLock(enum.StrEnum):
    """Where the object lock (WORM) of a kept event's media stands (migration 0004)."""

    NONE = "none"  # not kept, or kept with object lock off
    PENDING = "pending"  # media still in the spool, or the store was unavailable: locked later
    LOCKED = "locked"  # every stored medium of the event is locked
    FAILED = "failed"  # the store cannot lock (keep_lock_error says why); the keep still holds
    RELEASING = "releasing"  # released by the operator; the locks are being lifted


class TicketState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"


def _enum(cls: type[enum.StrEnum]) -> Enum:
    # Plain VARCHAR + CHECK-free storage: new states must not need a PostgreSQL enum migration.
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Region(Base):
    """An administrative area (city, county, township, village). ``path`` is the materialised
    chain of ids from the root, ``/jinan/licheng/``, so a subtree is one prefix query."""

    __tablename__ = "regions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("regions.id", ondelete="RESTRICT"), index=True, default=None
    )
    level: Mapped[str] = mapped_column(String(32), default="")
    path: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Credentials are never stored in the URL columns: the URL is kept without userinfo.
    main_url: Mapped[str] = mapped_column(Text)
    sub_url: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[CameraStatus] = mapped_column(_enum(CameraStatus), default=CameraStatus.UNKNOWN)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_frame_at: Mapped[datetime | None] = mapped_column(default=None)
    reconnects: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The registry (migration 0002). Rows written before it came from the YAML config.
    region_id: Mapped[str | None] = mapped_column(
        ForeignKey("regions.id", ondelete="RESTRICT"), index=True, default=None
    )
    kind: Mapped[CameraKind] = mapped_column(
        _enum(CameraKind), default=CameraKind.OTHER, server_default=CameraKind.OTHER.value
    )
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    latitude: Mapped[float | None] = mapped_column(default=None)
    longitude: Mapped[float | None] = mapped_column(default=None)
    protocol: Mapped[CameraProtocol] = mapped_column(
        _enum(CameraProtocol), default=CameraProtocol.RTSP, server_default=CameraProtocol.RTSP.value
    )
    onvif_url: Mapped[str | None] = mapped_column(Text, default=None)  # device service, no userinfo
    snapshot_url: Mapped[str | None] = mapped_column(Text, default=None)
    username: Mapped[str | None] = mapped_column(String(128), default=None)
    # A Fernet token (hub.registry.credentials); the plain password is never stored or returned.
    password_enc: Mapped[str | None] = mapped_column(Text, default=None)
    ptz: Mapped[bool] = mapped_column(default=False, server_default=false())
    # None means "the hub's defaults"; shapes in hub.registry.specs.
    retention: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    privacy_masks: Mapped[list[list[list[float]]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    source: Mapped[CameraSource] = mapped_column(
        _enum(CameraSource), default=CameraSource.CONFIG, server_default=CameraSource.CONFIG.value
    )
    device_info: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    online_since: Mapped[datetime | None] = mapped_column(default=None)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_camera_started", "camera_id", "started_at"),
        Index("ix_events_state", "state"),
        Index("ix_events_keep_lock_state", "keep_lock_state"),
        Index("ix_events_clip_key", "clip_key"),
        Index("ix_events_snapshot_key", "snapshot_key"),
        Index("ix_events_thumbnail_key", "thumbnail_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[EventState] = mapped_column(_enum(EventState), default=EventState.OPEN)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    score: Mapped[float] = mapped_column(default=0.0)
    clip_key: Mapped[str | None] = mapped_column(String(512), default=None)
    clip_state: Mapped[MediaState] = mapped_column(_enum(MediaState), default=MediaState.NONE)
    # Clip facts measured from the written file (not from the request), for the API and checks.
    clip_start_at: Mapped[datetime | None] = mapped_column(default=None)
    clip_duration_s: Mapped[float | None] = mapped_column(default=None)
    clip_frames: Mapped[int | None] = mapped_column(default=None)
    clip_bytes: Mapped[int | None] = mapped_column(default=None)
    clip_codec: Mapped[str | None] = mapped_column(String(16), default=None)
    clip_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    snapshot_key: Mapped[str | None] = mapped_column(String(512), default=None)
    thumbnail_key: Mapped[str | None] = mapped_column(String(512), default=None)
    snapshot_state: Mapped[MediaState] = mapped_column(_enum(MediaState), default=MediaState.NONE)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Evidence hold (migration 0004): while keep_at is set, neither retention nor the quota
    # deletes the event's clip, snapshot or thumbnail. keep_lock_* say how the objects are locked,
    # with the mode and date fixed when keep was marked (the config may change later).
    keep_at: Mapped[datetime | None] = mapped_column(default=None)
    keep_by: Mapped[str | None] = mapped_column(String(128), default=None)
    keep_reason: Mapped[str | None] = mapped_column(Text, default=None)
    keep_until: Mapped[datetime | None] = mapped_column(default=None)  # the lock's retention date
    keep_lock_mode: Mapped[ObjectLockMode | None] = mapped_column(_enum(ObjectLockMode), default=None)
    keep_lock_state: Mapped[KeepLock] = mapped_column(
        _enum(KeepLock), default=KeepLock.NONE, server_default=KeepLock.NONE.value
    )
    keep_lock_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Stored sizes, for the quota (the clip's is clip_bytes); null before 0004 or until uploaded.
    snapshot_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    thumbnail_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)


class Ticket(Base):
    """The outbox: one row per event ticket for the grid system, written in the event's transaction."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    payload: Mapped[dict[str, Any]]
    state: Mapped[TicketState] = mapped_column(_enum(TicketState), default=TicketState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Segment(Base):
    """One file of a camera's continuous recording (migration 0003); times are wall clock, UTC."""

    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_camera_start", "camera_id", "start_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(512), unique=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    duration_s: Mapped[float]
    frames: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    codec: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[MediaState] = mapped_column(_enum(MediaState), default=MediaState.SPOOLED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
