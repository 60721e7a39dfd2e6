"""The camera registry: regions, and the cameras' registry columns.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01

SQLite cannot add a foreign key to an existing table, so batch mode rebuilds ``cameras`` (copy,
drop, rename). With foreign keys on, dropping the old ``cameras`` would cascade-delete every
event (``events.camera_id`` is ON DELETE CASCADE), so the rebuild runs with
``PRAGMA foreign_keys=OFF`` and ends with ``PRAGMA foreign_key_check``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)
State = sa.String(length=16)
EMPTY_LIST = sa.text("'[]'")


def _camera_columns() -> tuple[sa.Column[Any], ...]:
    """The new columns (fresh objects: a Column can belong to one table only). Existing rows
    were synced from the YAML config, so ``source`` defaults to config for them."""
    return (
        sa.Column("region_id", sa.String(length=64), nullable=True),
        sa.Column("kind", State, nullable=False, server_default="other"),
        sa.Column("tags", sa.JSON(), nullable=False, server_default=EMPTY_LIST),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("protocol", State, nullable=False, server_default="rtsp"),
        sa.Column("onvif_url", sa.Text(), nullable=True),
        sa.Column("snapshot_url", sa.Text(), nullable=True),
        sa.Column("username", sa.String(length=128), nullable=True),
        sa.Column("password_enc", sa.Text(), nullable=True),
        sa.Column("ptz", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("retention", sa.JSON(), nullable=True),
        sa.Column("analysis", sa.JSON(), nullable=True),
        sa.Column("privacy_masks", sa.JSON(), nullable=False, server_default=EMPTY_LIST),
        sa.Column("source", State, nullable=False, server_default="config"),
        sa.Column("device_info", sa.JSON(), nullable=True),
        sa.Column("online_since", Timestamp, nullable=True),
    )


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["regions.id"], name=op.f("fk_regions_parent_id_regions"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
        sa.UniqueConstraint("path", name=op.f("uq_regions_path")),
    )
    op.create_index(op.f("ix_regions_parent_id"), "regions", ["parent_id"])
    with _foreign_keys_off(), op.batch_alter_table("cameras") as batch:
        for column in _camera_columns():
            batch.add_column(column)
        batch.create_foreign_key(
            op.f("fk_cameras_region_id_regions"), "regions", ["region_id"], ["id"], ondelete="RESTRICT"
        )
        batch.create_index(op.f("ix_cameras_region_id"), ["region_id"])


def downgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table("cameras") as batch:
        batch.drop_index(op.f("ix_cameras_region_id"))
        batch.drop_constraint(op.f("fk_cameras_region_id_regions"), type_="foreignkey")
        for column in reversed(_camera_columns()):
            batch.drop_column(column.name)
    op.drop_index(op.f("ix_regions_parent_id"), table_name="regions")
    op.drop_table("regions")


class _foreign_keys_off:
    """On SQLite: foreign keys off around a table rebuild, checked and back on afterwards.

    The pragma is a no-op inside a transaction (a fresh database migrated 0001 → 0002 in one
    run is in one): that is harmless while ``events`` is empty, and refused otherwise rather
    than losing events. Elsewhere this does nothing.
    """

    def __enter__(self) -> None:
        self.sqlite = op.get_bind().dialect.name == "sqlite"
        if not self.sqlite:
            return
        bind = op.get_bind()
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        took = bind.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
        if not took and bind.exec_driver_sql("SELECT count(*) FROM events").scalar():
            raise RuntimeError(
                "migration 0002 must rebuild the cameras table with foreign keys off, but SQLite "
                "ignored PRAGMA foreign_keys=OFF (a transaction was open) and events exist; "
                "nothing was changed"
            )

    def __exit__(self, *exc: object) -> None:
        if not self.sqlite:
            return
        bind = op.get_bind()
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        if broken and exc[0] is None:
            raise RuntimeError(f"migration 0002 left {len(broken)} dangling foreign key(s): {broken[:5]}")
