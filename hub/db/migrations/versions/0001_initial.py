"""Initial tables: cameras, events, tickets.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Aware datetimes (hub.db.models.UTCDateTime); enums are plain VARCHAR(16), no CHECK constraint.
Timestamp = sa.DateTime(timezone=True)
State = sa.String(length=16)


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("main_url", sa.Text(), nullable=False),
        sa.Column("sub_url", sa.Text(), nullable=True),
        sa.Column("status", State, nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("status_changed_at", Timestamp, nullable=False),
        sa.Column("last_frame_at", Timestamp, nullable=True),
        sa.Column("reconnects", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", State, nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("ended_at", Timestamp, nullable=True),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("clip_key", sa.String(length=512), nullable=True),
        sa.Column("clip_state", State, nullable=False),
        sa.Column("clip_start_at", Timestamp, nullable=True),
        sa.Column("clip_duration_s", sa.Double(), nullable=True),
        sa.Column("clip_frames", sa.Integer(), nullable=True),
        sa.Column("clip_bytes", sa.Integer(), nullable=True),
        sa.Column("clip_codec", sa.String(length=16), nullable=True),
        sa.Column("clip_sha256", sa.String(length=64), nullable=True),
        sa.Column("snapshot_key", sa.String(length=512), nullable=True),
        sa.Column("thumbnail_key", sa.String(length=512), nullable=True),
        sa.Column("snapshot_state", State, nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_events_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_camera_started", "events", ["camera_id", "started_at"])
    op.create_index("ix_events_state", "events", ["state"])
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", State, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("delivered_at", Timestamp, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_tickets_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("event_id", name=op.f("uq_tickets_event_id")),
    )
    op.create_index("ix_tickets_due", "tickets", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_due", table_name="tickets")
    op.drop_table("tickets")
    op.drop_index("ix_events_state", table_name="events")
    op.drop_index("ix_events_camera_started", table_name="events")
    op.drop_table("events")
    op.drop_table("cameras")
