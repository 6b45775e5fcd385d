"""Work plans: each person's week and the days that differ, units' heads and team days.

Also an agency's minimum office days a week, and which bookings a plan made.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None
# Adds tables and nullable columns only: the release before runs on beside it.
rolling = True


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "work_plans",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("week", sa.String(120), nullable=False),
        sa.Column(
            "building_id",
            sa.String(32),
            sa.ForeignKey("buildings.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("zone_id", sa.Integer, sa.ForeignKey("zones.id", ondelete="SET NULL")),
        sa.Column("desk_id", sa.Integer, sa.ForeignKey("desks.id", ondelete="SET NULL")),
        sa.Column("book_ahead_days", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "plan_days",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("place", sa.String(16), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("user_id", "day"),
    )
    op.create_index("ix_plan_days_user_id", "plan_days", ["user_id"])
    op.create_index("ix_plan_days_day", "plan_days", ["day"])
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("supervisor_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("team_days", sa.String(16), nullable=True))
        batch.create_foreign_key(
            "fk_units_supervisor_id_users", "users", ["supervisor_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("agency_policies") as batch:
        batch.add_column(sa.Column("min_office_days", sa.Integer, nullable=True))
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("origin", sa.String(8), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("origin")
    with op.batch_alter_table("agency_policies") as batch:
        batch.drop_column("min_office_days")
    with op.batch_alter_table("units") as batch:
        batch.drop_constraint("fk_units_supervisor_id_users", type_="foreignkey")
        batch.drop_column("team_days")
        batch.drop_column("supervisor_id")
    op.drop_index("ix_plan_days_day", "plan_days")
    op.drop_index("ix_plan_days_user_id", "plan_days")
    op.drop_table("plan_days")
    op.drop_table("work_plans")
