"""The data path's tables: gateways, devices, and keys of stored readings.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "gateways",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_ingest_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_gateways_token_sha256")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("gateway_id", sa.String(32), nullable=True),
        sa.Column("building", sa.String(32), nullable=True),
        sa.Column("floor", sa.String(32), nullable=True),
        sa.Column("zone", sa.String(32), nullable=True),
        sa.Column("space", sa.String(32), nullable=True),
        sa.Column("space_kind", sa.String(16), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=True),
        sa.Column("status_ms", sa.BigInteger(), nullable=True),
        sa.Column("fw", sa.String(32), nullable=True),
        sa.Column("boot", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateways.id"],
            name=op.f("fk_devices_gateway_id_gateways"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_gateway_id"), "devices", ["gateway_id"])
    op.create_table(
        "ingest_seen",
        sa.Column("device", sa.String(32), nullable=False),
        sa.Column("boot", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stored_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device", "boot", "seq", name=op.f("pk_ingest_seen")),
    )
    op.create_index("ingest_seen_stored", "ingest_seen", ["stored_ms"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("ingest_seen")
    op.drop_table("devices")
    op.drop_table("gateways")
