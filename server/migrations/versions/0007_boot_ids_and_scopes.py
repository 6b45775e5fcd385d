"""Boot ids in the gap count; installers limited to their buildings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:00:00

``devices.seq_bid`` and ``devices.past_bids`` tell a node that started over (its boot
counter back at 1) from a straggler of an old boot. ``users.buildings`` lists the buildings
an installer may work in; null is every building.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq_bid", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("past_bids", sa.String(length=100), server_default="", nullable=False)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buildings", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("buildings")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("past_bids")
        batch_op.drop_column("seq_bid")
