"""What each meeting room's people counter last said, to release ghost bookings.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None
# Adds tables and nullable columns only: the release before runs on beside it.
rolling = True


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "room_seen",
        sa.Column(
            "room_id",
            sa.Integer,
            sa.ForeignKey("rooms.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("reported_ms", sa.BigInteger, nullable=False),
        sa.Column("occupied_ms", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("room_seen")
