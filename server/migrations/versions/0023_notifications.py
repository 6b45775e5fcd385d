"""Notifications: Web Push subscriptions and outbox, each person's channels, held bookings.

The browsers people let notify them, the push outbox, each person's channels and quiet
hours, and until when "I am coming" holds a booking.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None
# Adds tables and nullable columns only: the release before runs on beside it.
rolling = True


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("endpoint", sa.String(1000), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(100), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("last_sent_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"])
    op.create_table(
        "push_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("push_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("sent_ms", sa.BigInteger, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.UniqueConstraint("subscription_id", "key"),
    )
    op.create_index("ix_push_outbox_subscription_id", "push_outbox", ["subscription_id"])
    op.create_index("ix_push_outbox_sent_ms", "push_outbox", ["sent_ms"])
    op.create_table(
        "notify_prefs",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("mail", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("push", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("quiet_from", sa.Integer, nullable=True),
        sa.Column("quiet_to", sa.Integer, nullable=True),
        sa.Column("morning", sa.Boolean, nullable=False, server_default="1"),
    )
    op.create_table(
        "notices_sent",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("sent_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_notices_sent_sent_ms", "notices_sent", ["sent_ms"])
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("held_until_ms", sa.BigInteger, nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("held_until_ms")
    op.drop_index("ix_notices_sent_sent_ms", "notices_sent")
    op.drop_table("notices_sent")
    op.drop_table("notify_prefs")
    op.drop_index("ix_push_outbox_sent_ms", "push_outbox")
    op.drop_index("ix_push_outbox_subscription_id", "push_outbox")
    op.drop_table("push_outbox")
    op.drop_index("ix_push_subscriptions_user_id", "push_subscriptions")
    op.drop_table("push_subscriptions")
