"""InfluxDB reading store over the v1-compatible HTTP API (``/write``, ``/query``).

InfluxDB 1.x, 2.x (with a DBRP mapping) and 3.x all serve this API, so the same code
runs against each. This is the only module that speaks to InfluxDB.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import httpx

from contracts.batch import BATCH_STREAMS
from server.exceptions import QueryError, StoreError
from server.readings.store import (
    ANYWHERE,
    TAGS,
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

logger = logging.getLogger(__name__)
_TAG_ESCAPE: Final = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_MEASUREMENT_ESCAPE: Final = str.maketrans({",": r"\,", " ": r"\ "})
_PRECISION_FACTOR: Final = {"s": None, "ms": 1, "u": 1_000, "ns": 1_000_000}
WRITE_CHUNK: Final = 5_000


def line(r: StoredReading, precision: str = "ns") -> str:
    """One reading in line protocol, timestamped at ``precision`` (``ns`` by default)."""
    tags = ",".join(f"{k}={v.translate(_TAG_ESCAPE)}" for k, v in sorted(r.tags().items()) if v)
    fields = ",".join(f"{k.translate(_TAG_ESCAPE)}={_field(v)}" for k, v in r.fields.items())
    factor = _PRECISION_FACTOR[precision]
    if factor is None:
        ts = r.ts_ms // 1000
    else:
        # InfluxDB keys a point by measurement, tags and time, so two readings of one device
        # in the same millisecond would overwrite each other. Below the millisecond the
        # sequence number makes the time unique, and a re-sent reading lands on itself.
        seq = r.fields.get("seq", 0)
        ts = r.ts_ms * factor + (seq % factor if isinstance(seq, int) else 0)
    return f"{r.stream.translate(_MEASUREMENT_ESCAPE)},{tags} {fields} {ts}"


def _field(value: float | int | str) -> str:
    if isinstance(value, bool):
        return f"{int(value)}i"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _influx_error(resp: httpx.Response) -> str:
    """InfluxDB's error text (1.x and 2.x/3.x put it in JSON differently), cut short."""
    try:
        body = resp.json()
        text = str(body.get("error") or body.get("message") or resp.text)
    except ValueError:
        text = resp.text
    if "unable to parse '" in text and "': " in text:
        # The line itself is echoed between quotes: the reader has the reading already.
        text = "unable to parse: " + text.rsplit("': ", 1)[1]
    return text.strip()[:280]


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


# A census reads every point of the store (a backup's manifest, a restore's check).
CENSUS_TIMEOUT_S = 1800.0


class InfluxReadingStore:
    """ReadingStore on an InfluxDB server."""

    def __init__(
        self,
        *,
        url: str,
        database: str,
        retention_policy: str | None = None,
        rollup_retention_policy: str | None = None,
        raw_retention_days: int = 0,
        precision: str = "ns",
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Token {token}"} if token else {}
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._http = httpx.AsyncClient(
            base_url=url, headers=headers, auth=auth, timeout=timeout_s, transport=transport
        )
        self.database = database
        self.retention_policy = retention_policy
        self.precision = precision
        self.rollup_retention_policy = rollup_retention_policy
        self.raw_retention_days = raw_retention_days
        rp = f'"{retention_policy}".' if retention_policy else ""
        self._from = rp + '"{}"'
        rrp = f'"{rollup_retention_policy}".' if rollup_retention_policy else ""
        self._rollup_from = rrp + '"{}_1h"'

    async def create_database(self) -> None:
        """Create the database and its retention policies if missing (InfluxDB 1.x).

        Raw readings go to ``retention_policy``, kept ``raw_retention_days``; rollups go to
        ``rollup_retention_policy``, kept forever. InfluxDB 2.x and 3.x map each
        database/policy pair to a bucket instead (DBRP mappings; see docs/operations.md).
        """
        db = self.database
        await self._query(f'CREATE DATABASE "{db}"', method="POST")
        if self.retention_policy and self.raw_retention_days > 0:
            await self._policy(self.retention_policy, f"{self.raw_retention_days}d")
        if self.rollup_retention_policy:
            await self._policy(self.rollup_retention_policy, "INF")

    async def _policy(self, name: str, duration: str) -> None:
        spec = f'"{name}" ON "{self.database}" DURATION {duration} REPLICATION 1'
        try:
            await self._query(f"CREATE RETENTION POLICY {spec}", method="POST")
        except StoreError as exc:
            if "already exists" not in str(exc):
                raise
            await self._query(f"ALTER RETENTION POLICY {spec}", method="POST")

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
        if not fields:
            raise QueryError("points: ask for at least one field")
        for name in fields:
            check_query(stream, name)
        place = [t for t in TAGS if t != "device"]
        cols = ", ".join(f'"{c}"' for c in (*fields, *place))
        conds = self._conds(where, [f"time >= {start_ms}ms", f"time < {end_ms}ms"])
        q = f'SELECT {cols} FROM {self._from.format(stream)} WHERE {conds} GROUP BY "device"'
        out = []
        n = len(fields)
        for series in sorted(await self._series(q), key=lambda s: s["tags"]["device"]):
            device = series["tags"]["device"]
            for row in series["values"]:
                out.append(
                    RawPoint(
                        ts_ms=int(row[0]),
                        device=device,
                        tags={t: v for t, v in zip(place, row[1 + n :], strict=True) if v},
                        fields={
                            k: v
                            for k, v in zip(fields, row[1 : 1 + n], strict=True)
                            if v is not None
                        },
                    )
                )
        return out

    async def write_rollups(self, rows: Sequence[Rollup]) -> None:
        """Write rollups to ``{kind}_1h`` in the rollup retention policy (replacing)."""
        params = {"db": self.database, "precision": "ms"}
        if self.rollup_retention_policy:
            params["rp"] = self.rollup_retention_policy
        lines = []
        for r in rows:
            tags = {**r.tags, "device": r.device, "key": r.key}
            tag_text = ",".join(
                f"{k}={v.translate(_TAG_ESCAPE)}" for k, v in sorted(tags.items()) if v
            )
            fields = ",".join(f"{k}={float(v)!r}" for k, v in r.fields.items())
            if fields:
                lines.append(f"{r.kind}_1h,{tag_text} {fields} {r.hour_ms}")
        for i in range(0, len(lines), WRITE_CHUNK):
            reason = await self._post_lines("\n".join(lines[i : i + WRITE_CHUNK]), params)
            if reason is not None:
                raise StoreError(f"rollups not written: {reason}")

    async def rollups(
        self,
        *,
        kind: str,
        values: Mapping[str, RollupAgg],
        window: Window,
        where: SpaceFilter = ANYWHERE,
        by: Sequence[str] = (),
    ) -> list[RollupRow]:
        """Rollups aggregated per window and group, in InfluxQL."""
        check_rollup_query(kind, values, by)
        select = ", ".join(f'{a}("{n}") AS "{n}"' for n, a in values.items())
        conds = self._conds(where, [f"time >= {window.start_ms}ms", f"time < {window.end_ms}ms"])
        groups = "".join(f', "{t}"' for t in by)
        q = (
            f"SELECT {select} FROM {self._rollup_from.format(kind)} WHERE {conds}"
            f" GROUP BY time({window.every_ms}ms, {window.offset_ms}ms){groups} fill(none)"
        )
        out = []
        for series in await self._series(q):
            tags = series.get("tags") or {}
            group = {t: tags.get(t) or "" for t in by}
            cols = series["columns"][1:]
            for row in series["values"]:
                vals = {c: float(v) for c, v in zip(cols, row[1:], strict=True) if v is not None}
                if vals:
                    out.append(RollupRow(int(row[0]), group, vals))
        return sorted(out, key=lambda r: (r.start_ms, tuple(r.group.values())))

    async def expire(self, before_ms: int) -> None:
        """Delete raw readings older than ``before_ms`` (InfluxQL ``DELETE``; not counted).

        A retention policy (``influx_retention_policy``) expires them too; this deletes
        them whichever policy holds them. InfluxDB 2.x and 3.x refuse ``DELETE`` through
        the v1 API (StoreError): there the bucket's retention period must do it.
        """
        for stream in BATCH_STREAMS:
            await self._query(f'DELETE FROM "{stream}" WHERE time < {before_ms}ms', "POST")

    async def expire_rollups(self, kind: str, before_ms: int) -> None:
        """Delete hourly rollups of ``kind`` older than ``before_ms`` (not counted)."""
        check_rollup_query(kind, {}, ())
        await self._query(f'DELETE FROM "{kind}_1h" WHERE time < {before_ms}ms', "POST")

    async def write(self, readings: Sequence[StoredReading]) -> list[Refused]:
        """Write readings in line-protocol chunks; rewriting a point replaces it in place.

        InfluxDB stores the lines it can and answers 400 naming one it could not (a
        "partial write"). The chunk is then halved until each refused line stands alone, so
        one bad reading costs a few small writes and never the rest of the batch.
        """
        params = {"db": self.database, "precision": self.precision}
        if self.retention_policy:
            params["rp"] = self.retention_policy
        refused: list[Refused] = []
        for i in range(0, len(readings), WRITE_CHUNK):
            lines = [line(r, self.precision) for r in readings[i : i + WRITE_CHUNK]]
            await self._write_isolating(lines, i, params, refused)
        return refused

    async def _write_isolating(
        self, lines: list[str], first: int, params: dict[str, str], refused: list[Refused]
    ) -> None:
        reason = await self._post_lines("\n".join(lines), params)
        if reason is None:
            return
        if len(lines) == 1:
            logger.warning("InfluxDB refused reading %d: %s", first, reason)
            refused.append(Refused(first, reason))
            return
        half = len(lines) // 2
        await self._write_isolating(lines[:half], first, params, refused)
        await self._write_isolating(lines[half:], first + half, params, refused)

    async def _post_lines(self, body: str, params: dict[str, str]) -> str | None:
        """POST line protocol; None when taken, else InfluxDB's reason for refusing content."""
        try:
            resp = await self._http.post(
                "/write",
                params=params,
                content=gzip.compress(body.encode(), compresslevel=1),
                headers={"Content-Encoding": "gzip"},
            )
        except httpx.HTTPError as exc:
            raise StoreError(f"InfluxDB write failed: {exc!r}") from exc
        if resp.status_code in (400, 422):
            if "beyond retention policy" in resp.text and "unable to parse" not in resp.text:
                # Readings older than the raw retention (a gateway's long-held outbox): the
                # rest of the batch is stored, and these would be expired anyway.
                logger.warning("InfluxDB dropped readings older than its retention: %s", resp.text)
                return None
            return f"InfluxDB refused it: {_influx_error(resp)}"
        if resp.status_code != 204:
            raise StoreError(f"InfluxDB refused a write ({resp.status_code}): {resp.text[:300]}")
        return None

    async def latest(
        self, *, stream: str, field: str, where: SpaceFilter = ANYWHERE
    ) -> list[LatestValue]:
        """Newest value of ``field`` per space."""
        check_query(stream, field)
        others = [t for t in TAGS if t != "space"]
        cols = ", ".join(f'"{t}"' for t in others)
        conds = self._conds(where, ["\"space\" != ''"])
        q = (
            f'SELECT last("{field}"), {cols} FROM {self._from.format(stream)}'
            f' WHERE {conds} GROUP BY "space"'
        )
        out = []
        for series in await self._series(q):
            space = series.get("tags", {}).get("space")
            if not space:
                continue
            for row in series["values"]:
                tags = {t: v for t, v in zip(others, row[2:], strict=True) if v is not None}
                out.append(LatestValue(space=space, ts_ms=row[0], value=row[1], tags=tags))
        return sorted(out, key=lambda v: v.space)

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
        return await self._windowed(f'{agg}("{field}")', stream, window, where)

    async def counts(
        self, *, stream: str, window: Window, where: SpaceFilter = ANYWHERE
    ) -> list[WindowValue]:
        """Number of readings per window (every reading carries ``boot``)."""
        check_query(stream)
        return await self._windowed('count("boot")', stream, window, where)

    async def _windowed(
        self, select: str, stream: str, window: Window, where: SpaceFilter
    ) -> list[WindowValue]:
        conds = self._conds(where, [f"time >= {window.start_ms}ms", f"time < {window.end_ms}ms"])
        q = (
            f"SELECT {select} FROM {self._from.format(stream)} WHERE {conds}"
            f" GROUP BY time({window.every_ms}ms, {window.offset_ms}ms) fill(none)"
        )
        return [
            WindowValue(int(t), float(v))
            for series in await self._series(q)
            for t, v in series["values"]
            if v is not None
        ]

    @staticmethod
    def _conds(where: SpaceFilter, extra: list[str]) -> str:
        return " AND ".join([*(f'"{k}" = {_quote(v)}' for k, v in where.items()), *extra])

    async def _series(self, q: str, read_s: float | None = None) -> list[dict[str, Any]]:
        data = await self._query(q, read_s=read_s)
        result = data["results"][0]
        if result.get("partial") or any(s.get("partial") for s in result.get("series", [])):
            # The server cut the answer short (its http max-row-limit): refuse to undercount.
            raise StoreError(
                "InfluxDB returned a partial result; raise or disable [http] max-row-limit"
            )
        return list(result.get("series", []))

    async def _query(
        self, q: str, method: str = "GET", read_s: float | None = None
    ) -> dict[str, Any]:
        params = {"db": self.database, "q": q, "epoch": "ms"}
        try:
            if method == "GET":
                wait = read_s if read_s else httpx.USE_CLIENT_DEFAULT
                resp = await self._http.get("/query", params=params, timeout=wait)
            else:
                resp = await self._http.post("/query", data=params)
        except httpx.HTTPError as exc:
            raise StoreError(f"InfluxDB query failed: {exc!r}") from exc
        if resp.status_code != 200:
            raise StoreError(f"InfluxDB refused a query ({resp.status_code}): {resp.text[:300]}")
        data: dict[str, Any] = resp.json()
        errors = [r["error"] for r in data.get("results", []) if "error" in r]
        if "error" in data or errors:
            raise StoreError(f"InfluxDB query error: {data.get('error') or errors[0]}")
        return data

    async def census(self) -> dict[str, int]:
        """Points per measurement in each retention policy (``<policy>.<measurement>``).

        InfluxQL counts per field. Every raw reading carries ``seq``, so a stream's points
        are its count of ``seq`` (one field to read, not all of them); rollups are counted
        by their largest field count. It reads the whole store: it is given
        ``CENSUS_TIMEOUT_S``, not the ingest path's timeout.
        """
        policies = await self._series("SHOW RETENTION POLICIES")
        out: dict[str, int] = {}
        for row in policies[0]["values"] if policies else []:
            where = f'"{self.database}"."{row[0]}"'
            keys = await self._series(f"SHOW FIELD KEYS FROM {where}./.*/")
            for m in keys:
                fields = {v[0] for v in m["values"]}
                what = 'COUNT("seq")' if "seq" in fields else "COUNT(*)"
                q = f'SELECT {what} FROM {where}."{m["name"]}"'
                counted = await self._series(q, read_s=CENSUS_TIMEOUT_S)
                counts = [int(v) for s in counted for v in s["values"][0][1:] if v is not None]
                out[f"{row[0]}.{m['name']}"] = max(counts, default=0)
        return out

    async def version(self) -> str:
        """The server's version as ``/ping`` gives it (``1.8.10``, ``v2.7.11``, ``3.0.1``)."""
        try:
            resp = await self._http.get("/ping")
        except httpx.HTTPError as exc:
            raise StoreError(f"InfluxDB unreachable: {exc!r}") from exc
        return str(resp.headers.get("X-Influxdb-Version", ""))

    async def ping(self) -> None:
        """Check the server answers ``/ping``."""
        try:
            resp = await self._http.get("/ping")
        except httpx.HTTPError as exc:
            raise StoreError(f"InfluxDB unreachable: {exc!r}") from exc
        if resp.status_code not in (200, 204):
            raise StoreError(f"InfluxDB /ping answered {resp.status_code}")

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()
