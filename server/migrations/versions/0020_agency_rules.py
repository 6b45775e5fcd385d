"""An agency's own booking rules and closed days, layered on each building's.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None
# Adds tables and nullable columns only: the release before runs on beside it.
rolling = True


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "agency_policies",
        sa.Column(
            "agency_id",
            sa.String(32),
            sa.ForeignKey("agencies.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("window_days", sa.Integer, nullable=True),
        sa.Column("max_per_day", sa.Integer, nullable=True),
        sa.Column("max_per_week", sa.Integer, nullable=True),
        sa.Column("open_minute", sa.Integer, nullable=True),
        sa.Column("close_minute", sa.Integer, nullable=True),
        sa.Column("weekdays", sa.String(16), nullable=True),
        sa.Column("checkin_grace_minutes", sa.Integer, nullable=True),
    )
    with op.batch_alter_table("closed_days") as batch:
        batch.add_column(sa.Column("agency_id", sa.String(32), nullable=True))
        batch.create_foreign_key(
            "fk_closed_days_agency_id", "agencies", ["agency_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_closed_days_agency_id", ["agency_id"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("closed_days") as batch:
        batch.drop_index("ix_closed_days_agency_id")
        batch.drop_constraint("fk_closed_days_agency_id", type_="foreignkey")
        batch.drop_column("agency_id")
    op.drop_table("agency_policies")
