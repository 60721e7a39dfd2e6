"""Evidence keep (hold and object lock) and stored snapshot sizes on events.

Revision ID: 0004
Revises: 0003
Create Date: 2025-04-01

New columns only, each nullable or with a server default, so SQLite adds them with ALTER TABLE
and no table rebuild (a rebuild of ``events`` would cascade into ``tickets``). The downgrade uses
ALTER TABLE DROP COLUMN, which SQLite has since 3.35.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def _columns() -> tuple[sa.Column[Any], ...]:
    return (
        sa.Column("keep_at", Timestamp, nullable=True),
        sa.Column("keep_by", sa.String(length=128), nullable=True),
        sa.Column("keep_reason", sa.Text(), nullable=True),
        sa.Column("keep_until", Timestamp, nullable=True),
        sa.Column("keep_lock_mode", sa.String(length=16), nullable=True),
        sa.Column("keep_lock_state", sa.String(length=16), nullable=False, server_default="none"),
        sa.Column("keep_lock_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("snapshot_bytes", sa.BigInteger(), nullable=True),
        sa.Column("thumbnail_bytes", sa.BigInteger(), nullable=True),
    )


# Every upload looks its event up by the object key (EventStore.media_stored, the keep hook).
MEDIA_KEY_INDEXES = {
    "ix_events_clip_key": "clip_key",
    "ix_events_snapshot_key": "snapshot_key",
    "ix_events_thumbnail_key": "thumbnail_key",
}


def upgrade() -> None:
    for column in _columns():
        op.add_column("events", column)
    op.create_index("ix_events_keep_lock_state", "events", ["keep_lock_state"])
    for name, column_name in MEDIA_KEY_INDEXES.items():
        op.create_index(name, "events", [column_name])


def downgrade() -> None:
    for name in MEDIA_KEY_INDEXES:
        op.drop_index(name, table_name="events")
    op.drop_index("ix_events_keep_lock_state", table_name="events")
    for column in reversed(_columns()):
        op.drop_column("events", column.name)
