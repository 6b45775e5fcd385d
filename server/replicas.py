"""What several server replicas on one PostgreSQL share: the job runner and the events.

On PostgreSQL the periodic jobs run in the one replica that holds an advisory lock, on a
connection of its own: when that replica dies, its session ends, the lock goes, and
another replica takes it within ``SMARTOFFICE_JOBS_LOCK_RETRY_S``. Live events go through
``NOTIFY``, and every replica's ``LISTEN`` hands them to its own listeners. SQLite serves
one replica: the jobs run there, and events stay in the process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, Final

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from server.db import Database

logger = logging.getLogger(__name__)
# Any number, the same in every replica: the advisory lock that makes one the job runner.
JOBS_LOCK_KEY: Final = 0x1C0FF1CE
CHANNEL: Final = "smartoffice_events"
# NOTIFY carries at most 8000 bytes; desk and zone events are a few hundred.
PAYLOAD_MAX: Final = 7900


def _postgres(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


class JobLock:
    """The right to run the periodic jobs: taken by one replica at a time."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: Connection | None = None

    def try_take(self) -> bool:
        """Take the lock if no other replica holds it; True while this one holds it.

        Blocking (a database round trip): call it from a worker thread.
        """
        if not _postgres(self._db):
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))  # our session, hence our lock, lives
                self._conn.rollback()  # idle between checks, no transaction held open
                return True
            except SQLAlchemyError as exc:
                logger.warning(
                    "lost the job lock's connection (%s); trying to take it again",
                    exc.__class__.__name__,
                )
                self.release()
        conn = self._db.engine.connect()
        try:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": JOBS_LOCK_KEY}).scalar()
            )
            conn.commit()
        except SQLAlchemyError:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        """Let another replica take the lock (closing the session releases it)."""
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None


class EventChannel:
    """Live events to every replica's listeners: ``NOTIFY`` out, ``LISTEN`` in.

    ``deliver`` is called with each event (from the listening thread) in every replica,
    this one included; on SQLite ``publish`` calls it directly.
    """

    def __init__(self, db: Database, deliver: Callable[[dict[str, Any]], None]) -> None:
        self._db = db
        self._deliver = deliver
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        """Start listening (PostgreSQL); returns once the listener is in place."""
        if not _postgres(self._db):
            return
        self._thread = threading.Thread(target=self._listen, name="event-channel", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        """Stop listening."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Send ``events`` to the listeners of every replica (blocking: from a thread)."""
        if not _postgres(self._db):
            for event in events:
                self._deliver(event)
            return
        payloads = []
        for event in events:
            payload = json.dumps(event, separators=(",", ":"))
            if len(payload.encode()) > PAYLOAD_MAX:
                logger.warning(
                    "a %s event is too large for NOTIFY; shown by this replica only",
                    event.get("type"),
                )
                self._deliver(event)
            else:
                payloads.append(payload)
        if not payloads:
            return
        try:
            with self._db.engine.begin() as conn:
                for payload in payloads:
                    conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
        except SQLAlchemyError as exc:
            logger.warning(
                "events not sent to other replicas (%s); shown by this one only",
                exc.__class__.__name__,
            )
            for payload in payloads:
                self._handle(payload)

    def _conninfo(self) -> str:
        url = self._db.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._handle(note.payload)
            except psycopg.Error as exc:
                logger.warning("event channel: %s; listening again in 2 s", exc)
                self._ready.set()  # do not hold up a start while the database is away
                self._stop.wait(2)

    def _handle(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            logger.warning("event channel: not JSON: %.80r", payload)
            return
        if isinstance(event, dict):
            self._deliver(event)
