"""Desks carry the secret their QR label holds; bookings say how their presence was shown.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 07:30:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("desks") as batch:
        batch.add_column(sa.Column("qr_key", sa.String(32), nullable=True))
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("presence", sa.String(16), nullable=True))
    bind = op.get_bind()
    desks = sa.table("desks", sa.column("id", sa.Integer), sa.column("qr_key", sa.String))
    for (desk_id,) in bind.execute(sa.select(desks.c.id)).all():
        key = secrets.token_urlsafe(12)
        bind.execute(desks.update().where(desks.c.id == desk_id).values(qr_key=key))
    bookings = sa.table(
        "bookings", sa.column("checked_in_by", sa.String), sa.column("presence", sa.String)
    )
    # Before this revision a check-in proved nothing but itself: the sensor's and a
    # manager's stand; a booker's own becomes "app" (not confirmed by anything).
    for via, shown in (("sensor", "sensor"), ("manager", "manager"), ("qr", "app")):
        bind.execute(
            bookings.update().where(bookings.c.checked_in_by == via).values(presence=shown)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("presence")
    with op.batch_alter_table("desks") as batch:
        batch.drop_column("qr_key")
