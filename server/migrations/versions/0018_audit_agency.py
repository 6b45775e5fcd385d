"""The agency an audit entry or a privacy request concerns.

An agency's administrator reads and answers its own.

Entries made before name it in their detail when they name one; those are filled in. A
request is its person's agency's (the account's, while it still exists).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 13:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("agency", sa.String(32), nullable=True))
        batch.create_index("ix_audit_log_agency", ["agency"])
    log = sa.table("audit_log", sa.column("id"), sa.column("detail"), sa.column("agency"))
    bind = op.get_bind()
    named = bind.execute(
        sa.select(log.c.id, log.c.detail).where(log.c.detail.like('%"agency"%'))
    ).all()
    for row_id, detail in named:
        agency = json.loads(detail).get("agency")
        if isinstance(agency, str):
            bind.execute(log.update().where(log.c.id == row_id).values(agency=agency[:32]))
    with op.batch_alter_table("privacy_requests") as batch:
        batch.add_column(sa.Column("agency_id", sa.String(32), nullable=True))
        batch.create_index("ix_privacy_requests_agency_id", ["agency_id"])
    asked = sa.table("privacy_requests", sa.column("user_uid"), sa.column("agency_id"))
    users = sa.table("users", sa.column("uid"), sa.column("agency_id"))
    bind.execute(
        asked.update().values(
            agency_id=sa.select(users.c.agency_id)
            .where(users.c.uid == asked.c.user_uid)
            .scalar_subquery()
        )
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("privacy_requests") as batch:
        batch.drop_index("ix_privacy_requests_agency_id")
        batch.drop_column("agency_id")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_agency")
        batch.drop_column("agency")
