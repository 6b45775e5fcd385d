"""Values made from database tables, kept until the tables change or an age passes."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from server.db import DATABASE, Database

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TableCache(Generic[K, V]):
    """Values made from some tables, kept until those change here or an age passes.

    A value is made again when this process has committed a change to one of ``tables``
    since it was made (``Database.generation``), and at the latest ``db.cache_s`` after,
    which bounds how long a change made by another process stays unseen. One thread makes
    a missing value while the others asking for the same key wait (or, when only its age
    ran out, take the old value), so a change seen by many requests at once is read from
    the database once. With ``cache_s`` 0 nothing is kept.
    """

    def __init__(
        self,
        db: Database,
        tables: tuple[str, ...],
        clock: Callable[[], float] = time.monotonic,
        size: int = 256,
    ) -> None:
        self.db, self.tables, self.clock, self.size = db, tables, clock, size
        self._values: OrderedDict[K, tuple[int, float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self._makers: dict[K, threading.Lock] = {}
        self.made = 0

    def peek(self, key: K) -> V | None:
        """The value for ``key`` if it is kept and fresh; never waits for the database."""
        with self._lock:
            entry = self._values.get(key)
        if entry is None:
            return None
        generation, made_at, value = entry
        too_old = self.clock() - made_at >= self.db.cache_s
        if too_old or generation != self.db.generation(self.tables):
            return None
        return value

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value for ``key``, made by ``make`` when missing or out of date.

        While one thread makes a value whose only fault is its age, the others take the
        old one rather than wait; a value its tables changed under is always waited for.
        """
        value = self.peek(key)
        if value is not None:
            return value
        with self._lock:
            making = self._makers.setdefault(key, threading.Lock())
            entry = self._values.get(key)
        if not making.acquire(blocking=False):
            if entry is not None and entry[0] == self.db.generation(self.tables):
                return entry[2]
            making.acquire()
        try:
            value = self.peek(key)
            if value is not None:
                return value
            generation = self.db.generation(self.tables)  # before reading: never too new
            made_at = self.clock()
            value = make()
            self.made += 1
            with self._lock:
                self._values[key] = (generation, made_at, value)
                self._values.move_to_end(key)
                while len(self._values) > self.size:
                    gone, _ = self._values.popitem(last=False)
                    self._makers.pop(gone, None)
            return value
        finally:
            making.release()


def cached(session: Session, tables: tuple[str, ...], key: Hashable, make: Callable[[], V]) -> V:
    """What ``make()`` reads from ``tables`` through ``session``, kept per ``key``.

    The value is kept in a ``TableCache`` of the session's database. When ``session``
    has written to one of ``tables`` and not committed, it is read afresh: the session
    must see its own changes, and nobody else may.
    """
    db: Database | None = session.info.get(DATABASE)
    if db is None or db.pending(session, tables):
        return make()
    name = ",".join(tables)
    cache: TableCache[Hashable, tuple[V]] | None = db.caches.get(name)
    if cache is None:
        cache = db.caches.setdefault(name, TableCache(db, tables, size=4096))
    return cache.get(key, lambda: (make(),))[0]  # a 1-tuple: None is a value too
