"""The relational database in and out of an archive, with the database's own tools.

SQLite is copied with its online backup API (a consistent copy while the server writes).
PostgreSQL is dumped with ``pg_dump --format=custom`` inside an exported snapshot, and the
census (rows and a digest per table) is taken in that same snapshot, so the manifest
describes exactly what the dump holds. ``pg_restore`` brings it back in one transaction.
The password goes to the tools in their environment (``PGPASSWORD``), never on a command
line that ``ps`` shows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from server.backup.archive import ArchiveError

SQLITE_FILE = "relational.sqlite"
PG_FILE = "relational.pgdump"


def kind(url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return "postgresql" if make_url(url).get_backend_name() == "postgresql" else "sqlite"


def census(conn: Connection) -> dict[str, dict[str, Any]]:
    """Rows and a SHA-256 of every row, in key order, for each table."""
    meta = MetaData()
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(inspect(conn).get_table_names()):
        table = Table(name, meta, autoload_with=conn)
        order = list(table.primary_key.columns) or list(table.columns)
        digest = hashlib.sha256()
        rows = 0
        result = conn.execution_options(yield_per=5000).execute(select(table).order_by(*order))
        for row in result:
            digest.update(json.dumps(list(row), default=str).encode())
            rows += 1
        out[name] = {"rows": rows, "digest": digest.hexdigest()}
    return out


def schema_of(conn: Connection) -> str | None:
    """The Alembic revision a database is at (None: no schema yet)."""
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def dump(url: str, into: Path) -> tuple[str, str | None, dict[str, dict[str, Any]]]:
    """Write the database into ``into``: (file name, schema revision, census)."""
    if kind(url) == "sqlite":
        source = _sqlite_path(url)
        if not source.is_file():
            raise ArchiveError(f"there is no database at {source}")
        target = into / SQLITE_FILE
        copy_sqlite(source, target)
        engine = create_engine(f"sqlite:///{target}")
        try:
            with engine.connect() as conn:
                return SQLITE_FILE, schema_of(conn), census(conn)
        finally:
            engine.dispose()
    engine = create_engine(url)
    try:
        snapshotted = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with snapshotted as conn, conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            _pg_tool(
                "pg_dump",
                url,
                ["--format=custom", f"--snapshot={snapshot}", f"--file={into / PG_FILE}"],
            )
            return PG_FILE, schema_of(conn), census(conn)
    finally:
        engine.dispose()


def refuse_unless_empty(url: str) -> None:
    """Refuse a database that already holds tables: a restore goes into an empty one."""
    if kind(url) == "sqlite" and not _sqlite_path(url).exists():
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise ArchiveError(
            f"the database {make_url(url).render_as_string()} already holds {len(tables)} "
            "tables: a restore goes into an empty database (create a new one, or drop this "
            "one if it is really to be replaced)"
        )


def load(url: str, staged: Path) -> dict[str, dict[str, Any]]:
    """Bring a dumped database back into the (empty) database at ``url``; its census."""
    if kind(url) == "sqlite":
        if staged.name != SQLITE_FILE:
            raise ArchiveError("the archive holds a PostgreSQL dump; restore it into PostgreSQL")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_sqlite(staged, target)
    else:
        if staged.name != PG_FILE:
            raise ArchiveError("the archive holds a SQLite database; restore it into SQLite")
        _pg_tool(
            "pg_restore",
            url,
            [
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                str(staged),
            ],
        )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return census(conn)
    finally:
        engine.dispose()


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file that may be in use (SQLite's online backup)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _pg_tool(tool: str, url: str, args: list[str]) -> None:
    binary = shutil.which(tool)
    if binary is None:
        raise ArchiveError(
            f"{tool} is not installed here (Debian/Ubuntu: apt install postgresql-client, "
            "of the server's major version or newer)"
        )
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    target = parsed.set(drivername="postgresql", password=None).render_as_string()
    done = subprocess.run(
        [binary, f"--dbname={target}", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise ArchiveError(f"{tool} failed: {done.stderr.strip()[-600:]}")
