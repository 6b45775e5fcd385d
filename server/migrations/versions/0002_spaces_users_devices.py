"""Spaces, users, audit log, device lifecycle and downlink.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:00:44.451987
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at_ms"), ["at_ms"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_target_id"), ["target_id"], unique=False)

    op.create_table(
        "buildings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_at_ms"), ["at_ms"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_username"), ["username"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_login_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "floors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("width", sa.Float(), nullable=False),
        sa.Column("height", sa.Float(), nullable=False),
        sa.Column("plan", sa.LargeBinary(), nullable=True),
        sa.Column("plan_type", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_floors_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_floors")),
        sa.UniqueConstraint("building_id", "code", name=op.f("uq_floors_building_id")),
    )
    op.create_table(
        "downlink",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("retain", sa.Boolean(), nullable=False),
        sa.Column("cmd_id", sa.String(length=64), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=True),
        sa.Column("ack_ms", sa.BigInteger(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_downlink_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateways.id"],
            name=op.f("fk_downlink_gateway_id_gateways"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downlink")),
        sa.UniqueConstraint("cmd_id", name=op.f("uq_downlink_cmd_id")),
    )
    with op.batch_alter_table("downlink", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_downlink_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_downlink_sent_ms"), ["sent_ms"], unique=False)

    op.create_table(
        "zones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("floor_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_zones_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["floor_id"], ["floors.id"], name=op.f("fk_zones_floor_id_floors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("building_id", "code", name=op.f("uq_zones_building_id")),
    )
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zones_floor_id"), ["floor_id"], unique=False)

    op.create_table(
        "desks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("floor_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("lighting_zone_id", sa.Integer(), nullable=True),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("monitor", sa.Boolean(), nullable=False),
        sa.Column("standing", sa.Boolean(), nullable=False),
        sa.Column("accessible", sa.Boolean(), nullable=False),
        sa.Column("quiet", sa.Boolean(), nullable=False),
        sa.Column("bookable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_desks_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["floor_id"], ["floors.id"], name=op.f("fk_desks_floor_id_floors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lighting_zone_id"], ["zones.id"], name=op.f("fk_desks_lighting_zone_id_zones")
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"], ["zones.id"], name=op.f("fk_desks_neighbourhood_id_zones")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_desks_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desks")),
        sa.UniqueConstraint("building_id", "code", name=op.f("uq_desks_building_id")),
    )
    with op.batch_alter_table("desks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desks_floor_id"), ["floor_id"], unique=False)

    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("floor_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("lighting_zone_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("width", sa.Float(), nullable=False),
        sa.Column("height", sa.Float(), nullable=False),
        sa.Column("bookable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_rooms_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["floor_id"], ["floors.id"], name=op.f("fk_rooms_floor_id_floors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lighting_zone_id"], ["zones.id"], name=op.f("fk_rooms_lighting_zone_id_zones")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_rooms_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("building_id", "code", name=op.f("uq_rooms_building_id")),
    )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rooms_floor_id"), ["floor_id"], unique=False)

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mqtt_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("registered_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_reading_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("decommissioned_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("rssi_dbm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("heap_free", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("uptime_s", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("sensor_errors", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("seq_boot", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("gaps", sa.BigInteger(), server_default="0", nullable=False))

    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.add_column(sa.Column("building", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_contact_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("revoked_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_column("revoked_ms")
        batch_op.drop_column("last_contact_ms")
        batch_op.drop_column("building")

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("gaps")
        batch_op.drop_column("last_seq")
        batch_op.drop_column("seq_boot")
        batch_op.drop_column("last_error")
        batch_op.drop_column("sensor_errors")
        batch_op.drop_column("uptime_s")
        batch_op.drop_column("heap_free")
        batch_op.drop_column("rssi_dbm")
        batch_op.drop_column("decommissioned_ms")
        batch_op.drop_column("last_reading_ms")
        batch_op.drop_column("registered_ms")
        batch_op.drop_column("mqtt_hash")

    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rooms_floor_id"))

    op.drop_table("rooms")
    with op.batch_alter_table("desks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desks_floor_id"))

    op.drop_table("desks")
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zones_floor_id"))

    op.drop_table("zones")
    with op.batch_alter_table("downlink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_downlink_sent_ms"))
        batch_op.drop_index(batch_op.f("ix_downlink_device_id"))

    op.drop_table("downlink")
    op.drop_table("floors")
    op.drop_table("users")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_username"))
        batch_op.drop_index(batch_op.f("ix_login_failures_at_ms"))
        batch_op.drop_index(batch_op.f("ix_login_failures_address"))

    op.drop_table("login_failures")
    op.drop_table("buildings")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_target_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at_ms"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))

    op.drop_table("audit_log")
