"""Every account has an immutable id that is never given again; privacy requests keep it.

A username is a label: after an erasure the same name may be given to someone else, who
must never see the erased person's requests. Row ids are not enough on SQLite, which
gives the highest id again once its row is deleted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 07:25:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("uid", sa.String(32), nullable=True))
    with op.batch_alter_table("privacy_requests") as batch:
        batch.add_column(sa.Column("user_uid", sa.String(32), nullable=True))
    bind = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("uid", sa.String),
    )
    requests = sa.table(
        "privacy_requests", sa.column("username", sa.String), sa.column("user_uid", sa.String)
    )
    for user_id, username in bind.execute(sa.select(users.c.id, users.c.username)).all():
        uid = uuid.uuid4().hex
        bind.execute(users.update().where(users.c.id == user_id).values(uid=uid))
        bind.execute(requests.update().where(requests.c.username == username).values(user_uid=uid))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("uid", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_users_uid", ["uid"])
    with op.batch_alter_table("privacy_requests") as batch:
        batch.create_index("ix_privacy_requests_user_uid", ["user_uid"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("privacy_requests") as batch:
        batch.drop_index("ix_privacy_requests_user_uid")
        batch.drop_column("user_uid")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_uid", type_="unique")
        batch.drop_column("uid")
