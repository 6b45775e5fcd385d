"""Failed sign-ins remember the browser they came from (a device its owner signed in on).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("login_failures") as batch:
        batch.add_column(sa.Column("device", sa.String(64), nullable=True))
        batch.create_index("ix_login_failures_device", ["device"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_index("ix_login_failures_device")
        batch.drop_column("device")
