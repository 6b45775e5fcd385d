"""The relational database: engine, declarative base and sessions (SQLite or PostgreSQL)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker

from server.clock import WITA
from server.effects import Effects, forget


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
    # Pools larger than the server's thread pool (worker_threads), so that a busy server
    # reuses connections instead of opening and closing one per request above the pool's
    # size; background tasks and the event loop hold a few more.
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        WriterQueue().attach(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)


class WriterQueue:
    """SQLite's writers of this process take turns on a lock instead of polling.

    SQLite lets one transaction write at a time; one that finds the database locked
    sleeps in its busy handler (1 ms, then longer, up to 100 ms) and tries again, so under
    contention writers wait far longer than the writes take. Here a transaction's first
    write waits on a lock that the previous writer releases when it commits or rolls
    back, so the next one starts at once. Writers in other processes (the command line,
    another worker) still meet through SQLite's own lock and busy timeout.
    """

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
    HOLDS = "holds_writer_lock"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def attach(self, engine: Engine) -> None:
        """Queue the writers of ``engine``'s connections."""
        event.listen(engine, "before_cursor_execute", self._before)
        for name in ("commit", "rollback"):
            event.listen(engine, name, self._after)
        event.listen(engine, "checkin", self._returned)

    def _before(self, conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if conn.info.get(self.HOLDS) or not statement.lstrip()[:7].upper().startswith(self.WRITES):
            return
        # After the busy timeout's 30 s, go on without the turn (SQLite's lock decides).
        if self._lock.acquire(timeout=30):
            conn.info[self.HOLDS] = True

    def _after(self, conn: Connection) -> None:
        if conn.info.pop(self.HOLDS, False):
            self._lock.release()

    def _returned(self, _dbapi_conn: Any, record: Any) -> None:
        # A connection given back without commit or rollback (its transaction is rolled
        # back by the pool) must not keep the lock.
        if record.info.pop(self.HOLDS, False):
            self._lock.release()


def insert_unless_present(bind: Connection | Session, entity: Any) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the dialect of ``bind`` (SQLite, PostgreSQL).

    Two transactions creating the same row at once then both succeed, and one inserts.
    """
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(entity).on_conflict_do_nothing()


class UnsafeMigration(RuntimeError):
    """A pending migration that cannot run while replicas of the release before serve."""


def _refuse_unrolling(conn: Connection, cfg: Any) -> None:
    """Raise UnsafeMigration when a pending migration is not safe beside older replicas.

    Only PostgreSQL is served by several replicas, and only a database already in use.
    """
    from alembic.script import ScriptDirectory

    tables = inspect(conn).get_table_names()
    if conn.dialect.name != "postgresql" or "alembic_version" not in tables:
        return
    current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    unsafe = [
        f"{rev.revision} ({(rev.doc or '').splitlines()[0]})"
        for rev in ScriptDirectory.from_config(cfg).iterate_revisions("head", current)
        if rev.revision != current and not getattr(rev.module, "rolling", False)
    ]
    if unsafe:
        raise UnsafeMigration(
            "these migrations cannot run while replicas of the release before serve: "
            f"{', '.join(sorted(unsafe))}. Stop every server replica, run `smartoffice db "
            "upgrade --all-stopped`, then start this release (docs/operations.md, Upgrades)"
        )


def check_rolling(engine: Engine) -> None:
    """Refuse, before anything starts, a pending migration unsafe beside older replicas."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        _refuse_unrolling(conn, cfg)


def init_schema(engine: Engine, *, all_stopped: bool = False) -> None:
    """Bring the database to the newest schema with Alembic's migrations.

    On PostgreSQL several replicas may serve one database, and during a rolling upgrade
    the release before goes on serving beside the new one. A migration is run then only
    if it says it is safe beside the release before (``rolling = True`` in its module:
    tables and nullable columns added, nothing the old code reads changed). Otherwise the
    server refuses, before anything changes, until the operator has stopped every replica
    and says so (``all_stopped``: ``smartoffice db upgrade --all-stopped``). A new,
    empty database and SQLite (one server) are migrated at once.

    A database made before migrations existed (tables but no version) is stamped with the
    first revision, whose tables it has, and then upgraded.

    On SQLite a migration that changes a table's constraints rebuilds it (copy, drop,
    rename); with foreign keys enforced, dropping a table deletes or nulls the rows that
    refer to it (bookings lost their person, floors their desks). So foreign keys are off
    while migrating (SQLite changes that only outside a transaction), every reference is
    checked before the migration commits, and they are on again after.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        lite = conn.dialect.name == "sqlite"
        if lite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                tables = set(inspect(conn).get_table_names())
                if "gateways" in tables and "alembic_version" not in tables:
                    command.stamp(cfg, FIRST_REVISION)
                if not all_stopped:
                    _refuse_unrolling(conn, cfg)
                command.upgrade(cfg, "head")
                if lite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migrations left broken references: {broken[:5]}")
        finally:
            if lite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


TOUCHED = "touched_tables"
DATABASE = "database"
# An execution option for a write that changes no value (taken for its lock): caches of
# the table need not be made again.
CHANGES_NOTHING = "changes_nothing"


def _note_flush(session: Session, _context: Any) -> None:
    # The unit of work's lists still hold what this flush wrote.
    touched = session.info.setdefault(TOUCHED, set())
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        touched.add(obj.__table__.name)


def _note_statement(state: ORMExecuteState) -> None:
    if state.execution_options.get(CHANGES_NOTHING):
        return
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None:
            state.session.info.setdefault(TOUCHED, set()).add(table.name)


def _forget(session: Session) -> None:
    session.info.pop(TOUCHED, None)
    forget(session.info)


FIRST_REVISION = "0001"
MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """An engine and its session factory, counting the changes committed to each table.

    ``generation(tables)`` grows whenever a session of this object commits a change to one
    of ``tables`` (through the ORM or an insert/update/delete statement), so a cache can
    tell at once that its source changed in this process. Changes made by another process
    are not seen; caches bound those with an age.
    """

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info={DATABASE: self})
        # How long caches of this database keep a value (see server.cache), and the caches
        # that functions given only a session share (server.cache.cached).
        self.cache_s = 1.0
        self.caches: dict[str, Any] = {}
        self._generations: Counter[str] = Counter()
        self._lock = threading.Lock()
        # What sets off the signals a committed change noted (server.effects); without
        # it (a tool, a test) they are dropped.
        self.effects: Effects | None = None
        # Whether a change's mail is queued (server.bookings.mail): only where an SMTP
        # server is set, so nothing piles up unsent and then leaves all at once later.
        self.mail = False
        # What the notification service knows of the deployment (server.notify.service):
        # its address, the key its links are signed with, whether it pushes.
        self.notifying: Any = None
        # Whether an identity provider's groups decide its people's roles at every sign-in
        # (SMARTOFFICE_OIDC_ROLES=provider), or only at the first (=local: admins change them).
        self.provider_roles = True
        # The platform's zone (SMARTOFFICE_TIMEZONE): times that belong to no one building.
        self.zone = WITA
        event.listen(self._sessions, "after_flush", _note_flush)
        event.listen(self._sessions, "do_orm_execute", _note_statement)
        event.listen(self._sessions, "after_commit", self._committed)
        event.listen(self._sessions, "after_rollback", _forget)

    def pending(self, session: Session, tables: tuple[str, ...]) -> bool:
        """Whether ``session`` has written to one of ``tables`` and not committed yet."""
        written = set(session.info.get(TOUCHED, ()))
        written.update(o.__table__.name for o in (*session.new, *session.dirty, *session.deleted))
        return not written.isdisjoint(tables)

    def generation(self, tables: tuple[str, ...]) -> int:
        """How many committed transactions changed any of ``tables`` so far."""
        with self._lock:
            return sum(self._generations[t] for t in tables)

    def _committed(self, session: Session) -> None:
        touched = session.info.pop(TOUCHED, None)
        if touched:
            with self._lock:
                self._generations.update(touched)
        if self.effects is not None:
            self.effects.committed(session.info)
        else:
            forget(session.info)

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
