"""The relational database: engine, declarative base and sessions (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, inspect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Declarative base of every table; constraints get predictable names for migrations."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def load_models() -> None:
    """Import every module that defines tables, so the metadata knows them all."""
    import server.audit.models
    import server.auth.models
    import server.bookings.models
    import server.ingest.models
    import server.notify.models
    import server.registry.models
    import server.spaces.models  # noqa: F401


def init_schema(engine: Engine) -> None:
    """Bring the database to the newest schema with Alembic's migrations.

    A database made before migrations existed (tables but no version) is stamped with the
    first revision, whose tables it has, and then upgraded.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        tables = set(inspect(conn).get_table_names())
        if "gateways" in tables and "alembic_version" not in tables:
            command.stamp(cfg, FIRST_REVISION)
        command.upgrade(cfg, "head")


FIRST_REVISION = "0001"
MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, *, commit: bool = True) -> Iterator[Session]:
        """A session that commits on success and rolls back on error.

        With ``commit`` false (a dry run) it rolls back in any case.
        """
        with self._sessions() as session:
            session.begin()
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            if commit:
                session.commit()
            else:
                session.rollback()

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()
