"""An agency's floor opened to another agency's people for a day (overflow).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "floor_openings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "floor_id", sa.Integer, sa.ForeignKey("floors.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "agency_id",
            sa.String(32),
            sa.ForeignKey("agencies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("floor_id", "agency_id", "day"),
    )
    op.create_index("ix_floor_openings_floor_id", "floor_openings", ["floor_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_floor_openings_floor_id", "floor_openings")
    op.drop_table("floor_openings")
