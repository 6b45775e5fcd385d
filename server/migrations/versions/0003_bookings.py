"""Bookings, rules, closed days, desk blocks, live desk state and mail outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 05:12:54.379938
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("to", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_outbox_sent_ms"), ["sent_ms"], unique=False)

    op.create_table(
        "closed_days",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=True),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_closed_days_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closed_days")),
        sa.UniqueConstraint("building_id", "day", name=op.f("uq_closed_days_building_id")),
    )
    op.create_table(
        "booking_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("min_minutes", sa.Integer(), nullable=False),
        sa.Column("max_minutes", sa.Integer(), nullable=False),
        sa.Column("max_per_day", sa.Integer(), nullable=False),
        sa.Column("max_per_week", sa.Integer(), nullable=False),
        sa.Column("open_minute", sa.Integer(), nullable=False),
        sa.Column("close_minute", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.String(length=16), nullable=False),
        sa.Column("checkin_grace_minutes", sa.Integer(), nullable=False),
        sa.Column("release_after_vacant_minutes", sa.Integer(), nullable=False),
        sa.Column("public_holidays", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_booking_policies_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zones.id"],
            name=op.f("fk_booking_policies_zone_id_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_policies")),
        sa.UniqueConstraint("building_id", "zone_id", name=op.f("uq_booking_policies_building_id")),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("space_code", sa.String(length=32), nullable=False),
        sa.Column("space_kind", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("booked_by", sa.String(length=100), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("series_id", sa.String(length=32), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("checked_in_ms", sa.BigInteger(), nullable=True),
        sa.Column("checked_in_by", sa.String(length=16), nullable=True),
        sa.Column("checked_out_ms", sa.BigInteger(), nullable=True),
        sa.Column("released_ms", sa.BigInteger(), nullable=True),
        sa.Column("reminded_ms", sa.BigInteger(), nullable=True),
        sa.Column("release_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_bookings_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_bookings_desk_id_desks"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_bookings_room_id_rooms"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_bookings_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bookings_desk_slot", ["desk_id", "start_ms", "end_ms"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bookings_room_id"), ["room_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_series_id"), ["series_id"], unique=False)
        batch_op.create_index("ix_bookings_user_slot", ["user_id", "start_ms"], unique=False)

    op.create_table(
        "desk_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_desk_blocks_desk_id_desks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_blocks")),
    )
    with op.batch_alter_table("desk_blocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_blocks_desk_id"), ["desk_id"], unique=False)

    op.create_table(
        "desk_live",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("occupied", sa.Boolean(), nullable=False),
        sa.Column("since_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.Column("led", sa.String(length=16), nullable=True),
        sa.Column("led_since_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_desk_live_desk_id_desks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("desk_id", name=op.f("pk_desk_live")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("share_location", sa.Boolean(), server_default="0", nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        # Two active bookings of one desk (or room) can never overlap, whatever the race.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for column in ("desk_id", "room_id"):
            op.execute(
                f"ALTER TABLE bookings ADD CONSTRAINT bookings_{column}_no_overlap "
                f"EXCLUDE USING gist ({column} WITH =, int8range(start_ms, end_ms) WITH &&) "
                f"WHERE (state IN ('booked', 'checked_in') AND {column} IS NOT NULL)"
            )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("share_location")

    op.drop_table("desk_live")
    with op.batch_alter_table("desk_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_blocks_desk_id"))

    op.drop_table("desk_blocks")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_user_slot")
        batch_op.drop_index(batch_op.f("ix_bookings_series_id"))
        batch_op.drop_index(batch_op.f("ix_bookings_room_id"))
        batch_op.drop_index("ix_bookings_desk_slot")

    op.drop_table("bookings")
    op.drop_table("booking_policies")
    op.drop_table("closed_days")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_outbox_sent_ms"))

    op.drop_table("mail_outbox")
