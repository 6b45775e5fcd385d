"""Privacy: anonymised bookings (no person), people's requests, the retention job's runs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    # Removing a person keeps their bookings, without them (was: deleted them with it).
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint("fk_bookings_user_id_users", type_="foreignkey")
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            "fk_bookings_user_id_users", "users", ["user_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("decided_ms", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("answer", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    with op.batch_alter_table("privacy_requests") as batch:
        batch.create_index(batch.f("ix_privacy_requests_username"), ["username"], unique=False)
    op.create_table(
        "retention_runs",
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("ran_ms", sa.BigInteger(), nullable=False),
        sa.Column("cutoff_ms", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("enforced_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_retention_runs")),
    )


def downgrade() -> None:
    """Revert this revision (anonymised bookings are deleted: they name nobody)."""
    op.drop_table("retention_runs")
    op.drop_table("privacy_requests")
    op.execute("DELETE FROM bookings WHERE user_id IS NULL")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint("fk_bookings_user_id_users", type_="foreignkey")
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_bookings_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
