"""Browser sessions, a person's language and calendar feed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:00:00

``web_sessions`` keeps a hash of each signed-in browser's cookie (signing out deletes it);
``users.language`` is the person's choice of language; ``users.feed_sha256`` the hash of
the secret in their calendar feed's URL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("feed_sha256", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_users_feed_sha256", ["feed_sha256"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_web_sessions_expires_ms", ["expires_ms"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("web_sessions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_feed_sha256", type_="unique")
        batch_op.drop_column("feed_sha256")
        batch_op.drop_column("language")
