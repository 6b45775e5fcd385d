"""Alembic environment: runs on the connection ``init_schema`` (or a test) hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import server.models  # noqa: F401  (every table in the metadata)
from server.db import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        # SQLite cannot alter most of a table in place; batch mode copies the table.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (alembic -x or alembic.ini) or use smartoffice db")
    with create_engine(url).begin() as conn:
        _run(conn)
