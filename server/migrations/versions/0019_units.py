"""Units (unit kerja) of each agency, from the teams its people already name.

Each distinct team of an agency's people becomes a unit of that agency, so that nobody's
team is refused after the upgrade; from then on an agency's people belong to its units.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 13:20:00
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None
# Fills units from the teams people have: replicas of the release before would go on
# adding teams it never sees, so every replica is stopped while it runs.
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "units",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "agency_id",
            sa.String(32),
            sa.ForeignKey("agencies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("agency_id", "name"),
    )
    op.create_index("ix_units_agency_id", "units", ["agency_id"])
    users = sa.table("users", sa.column("agency_id", sa.String), sa.column("team", sa.String))
    units = sa.table(
        "units",
        sa.column("agency_id", sa.String),
        sa.column("name", sa.String),
        sa.column("created_ms", sa.BigInteger),
    )
    bind = op.get_bind()
    teams = bind.execute(
        sa.select(users.c.agency_id, users.c.team)
        .where(users.c.agency_id.is_not(None), users.c.team.is_not(None))
        .distinct()
    ).all()
    made = int(time.time() * 1000)
    for agency, team in teams:
        bind.execute(units.insert().values(agency_id=agency, name=team, created_ms=made))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_units_agency_id", "units")
    op.drop_table("units")
