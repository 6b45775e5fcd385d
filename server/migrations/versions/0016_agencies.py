"""Agencies: a person works for one, a floor belongs to one or is the building's (shared).

An installation from before has one organisation: its employees become the people of one
agency, ``instansi`` ("Instansi"), which an administrator renames
(``smartoffice agency update instansi --name ...``). Administrators, facility managers and
installers stay platform- and building-wide, and every floor stays the building's, so
everything behaves as before.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 11:15:00
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=True),
        sa.Column("controller", sa.String(300), nullable=True),
        sa.Column("contact", sa.String(300), nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    for table in ("users", "floors"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("agency_id", sa.String(32), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_agency_id", "agencies", ["agency_id"], ["id"], ondelete="RESTRICT"
            )
            batch.create_index(f"ix_{table}_agency_id", ["agency_id"])
    bind = op.get_bind()
    users = sa.table("users", sa.column("role", sa.String), sa.column("agency_id", sa.String))
    if bind.execute(sa.select(sa.func.count()).select_from(users)).scalar():
        agencies = sa.table(
            "agencies",
            sa.column("id", sa.String),
            sa.column("name", sa.String),
            sa.column("created_ms", sa.BigInteger),
        )
        bind.execute(
            agencies.insert().values(
                id="instansi", name="Instansi", created_ms=int(time.time() * 1000)
            )
        )
        bind.execute(users.update().where(users.c.role == "employee").values(agency_id="instansi"))


def downgrade() -> None:
    """Revert this revision."""
    for table in ("floors", "users"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_agency_id")
            batch.drop_constraint(f"fk_{table}_agency_id", type_="foreignkey")
            batch.drop_column("agency_id")
    op.drop_table("agencies")
