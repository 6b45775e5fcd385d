"""Devices keep their newest heartbeat's buffered and dropped counts (for installers).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("buffered", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("dropped", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("dropped")
        batch.drop_column("buffered")
