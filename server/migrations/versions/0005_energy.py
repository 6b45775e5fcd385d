"""Energy: rollup progress, zone actions, comfort alerts, zone commands on the downlink.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:07:11.734548
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "comfort_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("floor", sa.String(length=32), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=False),
        sa.Column("space", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("peak", sa.Float(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_comfort_alerts_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comfort_alerts")),
    )
    with op.batch_alter_table("comfort_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_comfort_alerts_open", ["building_id", "ended_ms"], unique=False)

    op.create_table(
        "rollup_state",
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("done_until_ms", sa.BigInteger(), nullable=False),
        sa.Column("dirty_from_ms", sa.BigInteger(), nullable=True),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_rollup_state_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("building_id", name=op.f("pk_rollup_state")),
    )
    op.create_table(
        "zone_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("floor", sa.String(length=32), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=True),
        sa.Column("next_mode", sa.String(length=16), nullable=True),
        sa.Column("next_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_zone_actions_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_actions")),
    )
    with op.batch_alter_table("zone_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zone_actions_end_ms"), ["end_ms"], unique=False)
        batch_op.create_index(
            "ix_zone_actions_zone", ["building_id", "zone", "channel", "start_ms"], unique=False
        )

    with op.batch_alter_table("downlink", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zone", sa.String(length=32), nullable=True))
        batch_op.alter_column("device_id", existing_type=sa.VARCHAR(length=32), nullable=True)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("downlink", schema=None) as batch_op:
        batch_op.alter_column("device_id", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.drop_column("zone")

    with op.batch_alter_table("zone_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_zone_actions_zone")
        batch_op.drop_index(batch_op.f("ix_zone_actions_end_ms"))

    op.drop_table("zone_actions")
    op.drop_table("rollup_state")
    with op.batch_alter_table("comfort_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_comfort_alerts_open")

    op.drop_table("comfort_alerts")
