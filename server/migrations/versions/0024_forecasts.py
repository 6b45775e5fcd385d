"""Forecasts kept: each zone's expected attendance for a day, as it stood the day before.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None
# Adds tables and nullable columns only: the release before runs on beside it.
rolling = True


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "forecasts",
        sa.Column(
            "building_id",
            sa.String(32),
            sa.ForeignKey("buildings.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("zone", sa.String(32), primary_key=True),
        sa.Column("floor", sa.String(32), nullable=False),
        sa.Column("booked", sa.Integer, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("made_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("forecasts")
