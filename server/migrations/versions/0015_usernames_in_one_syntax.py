"""Usernames made before the one syntax are mapped to it, as a provider's new names are.

Before 0013 a username from an identity provider was taken as it came (``../users/x``,
``Budi Santoso``), and an odd one could act as a path on an admin's page or break an
export. Such accounts are renamed by the rule new names follow
(``server.auth.schemas.username_from``): ``../users/x`` becomes ``users-x``; one that leaves
nothing usable becomes ``sso-`` and a digest of the account's provider subject (or id). A
name already taken gets ``-2``, ``-3``, ... Bookings made or checked in by the person and
their privacy requests follow the new name; the person's sessions end (they sign in again,
under the new name); an audit entry records each rename. The audit log's past entries keep
the name that acted then.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:30:00
"""

from __future__ import annotations

import json
import re
import time

import sqlalchemy as sa
from alembic import op

from server.auth.schemas import USERNAME_PATTERN, username_from

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
# Checked for rolling upgrades it was not (written before they were): stop every
# replica before it runs (`smartoffice db upgrade --all-stopped`).
rolling = False

USERS = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("username", sa.String),
    sa.column("uid", sa.String),
    sa.column("oidc_subject", sa.String),
)
# Where a username stands for the person (not for who acted in the past: the audit log).
FOLLOW = (
    ("bookings", "booked_by"),
    ("bookings", "checked_in_actor"),
    ("privacy_requests", "username"),
    ("login_failures", "username"),
)


def _free(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``, ... whichever is not taken (within 100 characters)."""
    if name not in taken:
        return name
    n = 2
    while f"{name[: 100 - len(str(n)) - 1]}-{n}" in taken:
        n += 1
    return f"{name[: 100 - len(str(n)) - 1]}-{n}"


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(USERS.c.id, USERS.c.username, USERS.c.uid, USERS.c.oidc_subject)
    ).all()
    taken = {r.username for r in rows}
    now = int(time.time() * 1000)
    for row in rows:
        if re.fullmatch(USERNAME_PATTERN, row.username):
            continue
        new = _free(username_from(row.username, row.oidc_subject or row.uid), taken)
        taken.add(new)
        bind.execute(USERS.update().where(USERS.c.id == row.id).values(username=new))
        for table, column in FOLLOW:
            t = sa.table(table, sa.column(column, sa.String))
            bind.execute(t.update().where(t.c[column] == row.username).values({column: new}))
        sessions = sa.table("web_sessions", sa.column("user_id", sa.Integer))
        bind.execute(sessions.delete().where(sessions.c.user_id == row.id))
        audit = sa.table(
            "audit_log",
            sa.column("at_ms", sa.BigInteger),
            sa.column("actor", sa.String),
            sa.column("action", sa.String),
            sa.column("target_kind", sa.String),
            sa.column("target_id", sa.String),
            sa.column("detail", sa.Text),
        )
        bind.execute(
            audit.insert().values(
                at_ms=now,
                actor="migration 0015",
                action="user.rename",
                target_kind="user",
                target_id=new,
                detail=json.dumps({"was": row.username}),
            )
        )


def downgrade() -> None:
    """Nothing to undo: the old names were the problem, and the audit log keeps them."""
