"""The embedded reading store: one SQLite file in WAL mode, fields kept as JSON."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from contracts.batch import BATCH_STREAMS
from server.exceptions import StoreError
from server.readings.store import (
    ANYWHERE,
    Aggregation,
    LatestValue,
    RawPoint,
    Refused,
    Rollup,
    RollupAgg,
    RollupRow,
    SpaceFilter,
    StoredReading,
    Window,
    WindowValue,
    check_query,
    check_rollup_query,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    stream TEXT NOT NULL, ts INTEGER NOT NULL, device TEXT NOT NULL,
    building TEXT, floor TEXT, zone TEXT, space TEXT, space_kind TEXT,
    boot INTEGER NOT NULL, seq INTEGER NOT NULL, fields TEXT NOT NULL,
    UNIQUE (device, stream, boot, seq, ts)
);
CREATE INDEX IF NOT EXISTS readings_stream_ts ON readings (stream, ts);
CREATE INDEX IF NOT EXISTS readings_space ON readings (stream, space, ts);
CREATE INDEX IF NOT EXISTS readings_zone ON readings (stream, zone, ts);
CREATE INDEX IF NOT EXISTS readings_floor ON readings (stream, floor, ts);
CREATE TABLE IF NOT EXISTS rollups (
    kind TEXT NOT NULL, hour INTEGER NOT NULL, device TEXT NOT NULL, key TEXT NOT NULL,
    building TEXT, floor TEXT, zone TEXT, space TEXT, space_kind TEXT, fields TEXT NOT NULL,
    PRIMARY KEY (kind, hour, device, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rollups_building ON rollups (kind, building, hour);
"""
# Raw readings are deleted in slices of this many rows, so ingest waits only briefly.
EXPIRE_SLICE = 20_000
# What sqlite3 raises for a value it cannot hold (an int past 64 bits, a broken string),
# as opposed to a store that is down, locked or full.
_CONTENT_ERRORS = (OverflowError, ValueError, sqlite3.DataError, sqlite3.InterfaceError)
_SQL_AGG = {"mean": "avg", "min": "min", "max": "max", "sum": "sum", "count": "count"}


class SQLiteReadingStore:
    """ReadingStore on one SQLite file; calls run in a worker thread under a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    async def _run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        def work() -> list[tuple[Any, ...]]:
            with self._lock:
                return self._db.execute(sql, params).fetchall()

        try:
            return await run_in_threadpool(work)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite reading store: {exc}") from exc

    async def write(self, readings: Sequence[StoredReading]) -> list[Refused]:
        """Insert readings; a reading already held is ignored, one SQLite refuses returned."""
        rows = [
            (
                r.stream,
                r.ts_ms,
                r.device,
                *(_space_values(r)),
                r.fields.get("boot", 0),
                r.fields.get("seq", -1),
                json.dumps(r.fields, separators=(",", ":")),
            )
            for r in readings
        ]
        return await self._insert(
            "INSERT OR IGNORE INTO readings VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
        )

    async def _insert(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[Refused]:
        """Run ``sql`` for every row in one transaction; rows SQLite cannot take are returned.

        All rows go in at once; only when one is refused for its content (an integer beyond
        64 bits, say) are they inserted one by one to find which.
        """

        def work() -> list[Refused]:
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    try:
                        self._db.executemany(sql, rows)
                        refused = []
                    except _CONTENT_ERRORS:
                        self._db.execute("ROLLBACK")
                        self._db.execute("BEGIN")
                        refused = self._one_by_one(sql, rows)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                return refused

        try:
            return await run_in_threadpool(work)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite reading store: {exc}") from exc

    def _one_by_one(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[Refused]:
        refused = []
        for i, row in enumerate(rows):
            try:
                self._db.execute(sql, row)
            except _CONTENT_ERRORS as exc:
                refused.append(Refused(i, f"SQLite refused it: {exc}"[:300]))
        return refused

    async def latest(
        self, *, stream: str, field: str, where: SpaceFilter = ANYWHERE
    ) -> list[LatestValue]:
        """Newest value of ``field`` per space."""
        check_query(stream, field)
        conds, params = _where(stream, where)
        rows = await self._run(
            f"SELECT space, max(ts), json_extract(fields, '$.{field}'),"
            " building, floor, zone, space_kind, device FROM readings"
            f" WHERE {conds} AND space IS NOT NULL AND json_extract(fields, '$.{field}')"
            " IS NOT NULL GROUP BY space ORDER BY space",
            params,
        )
        return [
            LatestValue(
                space=r[0],
                ts_ms=r[1],
                value=r[2],
                tags=dict(
                    zip(("building", "floor", "zone", "space_kind", "device"), r[3:], strict=True)
                ),
            )
            for r in rows
        ]

    async def series(
        self,
        *,
        stream: str,
        field: str,
        agg: Aggregation,
        window: Window,
        where: SpaceFilter = ANYWHERE,
    ) -> list[WindowValue]:
        """``agg`` of ``field`` per window."""
        check_query(stream, field)
        conds, params = _where(stream, where)
        value = f"json_extract(fields, '$.{field}')"
        bucket = _bucket(window)
        base = f"FROM readings WHERE {conds} AND ts >= ? AND ts < ? AND {value} IS NOT NULL"
        params += [window.start_ms, window.end_ms]
        if agg in ("first", "last"):
            order = "ASC" if agg == "first" else "DESC"
            sql = (
                f"SELECT b, v FROM (SELECT {bucket} AS b, {value} AS v, ROW_NUMBER() OVER"
                f" (PARTITION BY {bucket} ORDER BY ts {order}) AS rn {base}) WHERE rn = 1"
                " ORDER BY b"
            )
        else:
            sql = f"SELECT {bucket} AS b, {_SQL_AGG[agg]}({value}) {base} GROUP BY b ORDER BY b"
        return [WindowValue(int(b), float(v)) for b, v in await self._run(sql, params)]

    async def counts(
        self, *, stream: str, window: Window, where: SpaceFilter = ANYWHERE
    ) -> list[WindowValue]:
        """Number of readings per window."""
        check_query(stream)
        conds, params = _where(stream, where)
        bucket = _bucket(window)
        rows = await self._run(
            f"SELECT {bucket} AS b, count(*) FROM readings WHERE {conds} AND ts >= ? AND ts < ?"
            " GROUP BY b ORDER BY b",
            [*params, window.start_ms, window.end_ms],
        )
        return [WindowValue(int(b), float(c)) for b, c in rows]

    async def points(
        self,
        *,
        stream: str,
        fields: Sequence[str],
        start_ms: int,
        end_ms: int,
        where: SpaceFilter = ANYWHERE,
    ) -> list[RawPoint]:
        """Raw readings in [start, end), ordered by device and time."""
        for name in fields:
            check_query(stream, name)
        conds, params = _where(stream, where)
        values = "".join(f", json_extract(fields, '$.{name}')" for name in fields)
        rows = await self._run(
            f"SELECT ts, device, building, floor, zone, space, space_kind{values} FROM readings"
            f" WHERE {conds} AND ts >= ? AND ts < ? ORDER BY device, ts",
            [*params, start_ms, end_ms],
        )
        return [
            RawPoint(
                ts_ms=r[0],
                device=r[1],
                tags={t: v for t, v in zip(_PLACE, r[2:7], strict=True) if v is not None},
                fields={n: v for n, v in zip(fields, r[7:], strict=True) if v is not None},
            )
            for r in rows
        ]

    async def write_rollups(self, rows: Sequence[Rollup]) -> None:
        """Insert or replace hourly rollups."""
        values = [
            (
                r.kind,
                r.hour_ms,
                r.device,
                r.key,
                *(r.tags.get(t) for t in _PLACE),
                json.dumps(dict(r.fields), separators=(",", ":")),
            )
            for r in rows
        ]
        refused = await self._insert(
            "INSERT OR REPLACE INTO rollups VALUES (?,?,?,?,?,?,?,?,?,?)", values
        )
        if refused:
            raise StoreError(f"rollups not written: {refused[0].reason}")

    async def rollups(
        self,
        *,
        kind: str,
        values: Mapping[str, RollupAgg],
        window: Window,
        where: SpaceFilter = ANYWHERE,
        by: Sequence[str] = (),
    ) -> list[RollupRow]:
        """Rollups aggregated per window and group, in SQL."""
        check_rollup_query(kind, values, by)
        conds = ["kind = ?", "hour >= ?", "hour < ?"] + [f"{t} = ?" for t, _ in where.items()]
        params: list[Any] = [kind, window.start_ms, window.end_ms, *(v for _, v in where.items())]
        off, every = window.offset_ms, window.every_ms
        bucket = f"((hour - {off}) / {every}) * {every} + {off}"
        aggs = "".join(f", {a}(json_extract(fields, '$.{n}'))" for n, a in values.items())
        groups = "".join(f", {t}" for t in by)
        rows = await self._run(
            f"SELECT {bucket} AS b{groups}{aggs} FROM rollups WHERE {' AND '.join(conds)}"
            f" GROUP BY b{groups} ORDER BY b{groups}",
            params,
        )
        n = len(by)
        return [
            RollupRow(
                start_ms=int(r[0]),
                group={t: v or "" for t, v in zip(by, r[1 : 1 + n], strict=True)},
                values={
                    k: float(v) for k, v in zip(values, r[1 + n :], strict=True) if v is not None
                },
            )
            for r in rows
        ]

    async def expire(self, before_ms: int) -> int:
        """Delete raw readings older than ``before_ms``, a slice at a time.

        The server's own "booking" stream (one point per finished booking) is kept.
        """
        total = 0
        for stream in BATCH_STREAMS:
            while True:
                deleted = await self._delete_slice(stream, before_ms)
                total += deleted
                if deleted < EXPIRE_SLICE:
                    break
        return total

    async def _delete_slice(self, stream: str, before_ms: int) -> int:
        def work() -> int:
            with self._lock:
                cur = self._db.execute(
                    "DELETE FROM readings WHERE rowid IN (SELECT rowid FROM readings"
                    " WHERE stream = ? AND ts < ? LIMIT ?)",
                    (stream, before_ms, EXPIRE_SLICE),
                )
                return cur.rowcount

        try:
            return await run_in_threadpool(work)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite reading store: {exc}") from exc

    async def expire_rollups(self, kind: str, before_ms: int) -> int:
        """Delete hourly rollups of ``kind`` older than ``before_ms``."""

        def work() -> int:
            with self._lock:
                cur = self._db.execute(
                    "DELETE FROM rollups WHERE kind = ? AND hour < ?", (kind, before_ms)
                )
                return cur.rowcount

        try:
            return await run_in_threadpool(work)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite reading store: {exc}") from exc

    async def census(self) -> dict[str, int]:
        """Readings per stream and rollups per kind (``<kind>_1h``)."""
        raw = await self._run("SELECT stream, COUNT(*) FROM readings GROUP BY stream", [])
        hourly = await self._run("SELECT kind, COUNT(*) FROM rollups GROUP BY kind", [])
        return {str(k): int(n) for k, n in raw} | {f"{k}_1h": int(n) for k, n in hourly}

    async def ping(self) -> None:
        """Check the file answers."""
        await self._run("SELECT 1", [])

    async def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()


_PLACE = ("building", "floor", "zone", "space", "space_kind")


def _bucket(window: Window) -> str:
    """SQL for the start of the window holding ``ts`` (integers only, from the Window)."""
    off, every = window.offset_ms, window.every_ms
    return f"((ts - {off}) / {every}) * {every} + {off}"


def _space_values(r: StoredReading) -> tuple[str | None, ...]:
    if r.space is None:
        return (None,) * 5
    s = r.space
    return (s.building, s.floor, s.zone, s.space, s.space_kind)


def _where(stream: str, where: SpaceFilter) -> tuple[str, list[Any]]:
    conds = ["stream = ?"] + [f"{tag} = ?" for tag, _ in where.items()]
    return " AND ".join(conds), [stream, *(v for _, v in where.items())]
