"""Boot ids in dedup keys, quarantined readings, gateways' backlog, who checked in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:40:00

``ingest_seen`` is made anew with the boot id in its key. Forgetting the old keys is safe:
a reading re-sent after the upgrade lands on itself in the reading store (InfluxDB
overwrites the same point, SQLite ignores the same row).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False


def _seen(with_bid: bool) -> None:
    op.create_table(
        "ingest_seen",
        sa.Column("device", sa.String(32), nullable=False),
        sa.Column("boot", sa.Integer(), nullable=False),
        *([sa.Column("bid", sa.BigInteger(), nullable=False)] if with_bid else []),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stored_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "device",
            *(["boot", "bid"] if with_bid else ["boot"]),
            "seq",
            name=op.f("pk_ingest_seen"),
        ),
    )
    op.create_index("ingest_seen_stored", "ingest_seen", ["stored_ms"])


def upgrade() -> None:
    """Apply this revision."""
    op.drop_table("ingest_seen")
    _seen(with_bid=True)
    op.create_table(
        "ingest_quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reading", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_quarantine")),
    )
    op.create_index(op.f("ix_ingest_quarantine_received_ms"), "ingest_quarantine", ["received_ms"])
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbox_depth", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("oldest_unsent_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("dead_letters", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("backlog_reported_ms", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_in_actor", sa.String(length=100), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_issuer", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_users_oidc_issuer"), ["oidc_issuer", "oidc_subject"]
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_users_oidc_issuer"), type_="unique")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("oidc_issuer")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("checked_in_actor")
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_column("backlog_reported_ms")
        batch_op.drop_column("dead_letters")
        batch_op.drop_column("oldest_unsent_ms")
        batch_op.drop_column("outbox_depth")
    op.drop_index(op.f("ix_ingest_quarantine_received_ms"), table_name="ingest_quarantine")
    op.drop_table("ingest_quarantine")
    op.drop_table("ingest_seen")
    _seen(with_bid=False)
