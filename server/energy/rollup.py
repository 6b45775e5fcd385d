"""Hourly rollups of energy, climate and presence, kept long after raw readings expire.

Each run rolls up, per building, the hours from where the last run stopped (or from the
first hour a late reading touched) up to the last whole hour that is ``settle`` old. A
rollup row is written again whole, so redoing an hour replaces it. Readings that reach the
server for an hour already rolled up mark the building dirty from that hour
(``mark_late``, called on every stored batch), and the next run redoes those hours while
the raw readings are still kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from sqlalchemy import case, select, update
from starlette.concurrency import run_in_threadpool

from server.db import Database
from server.energy.accounting import (
    Bands,
    Limits,
    MeterSample,
    env_hours,
    hour_of,
    meter_hours,
    state_hours,
)
from server.energy.models import RollupState
from server.readings.store import (
    HOUR_MS,
    RawPoint,
    ReadingStore,
    Rollup,
    RollupAgg,
    RollupRow,
    SpaceFilter,
    StoredReading,
    Window,
)
from server.spaces.models import Building

logger = logging.getLogger(__name__)
ROLLED_STREAMS: Final = frozenset({"energy", "env", "presence"})
MAIN_CIRCUIT: Final = "main"
# A request computes at most this much from raw readings; the rest comes from rollups.
MAX_LIVE_MS: Final = 48 * HOUR_MS


# The fields each kind of rollup row can carry (CO2 levels are the default ones).
ROLLUP_FIELDS: Final = {
    "energy": frozenset({"wh", "wh_est", "covered_s", "resets", "p_sum", "p_n", "p_max"}),
    "env": frozenset(
        {f"{m}_{a}" for m in ("co2", "temp", "rh") for a in ("n", "sum", "min", "max")}
        | {f"co2_{level}_s" for level in Bands().co2}
        | {"covered_s", "temp_low_s", "temp_high_s", "rh_low_s", "rh_high_s"}
    ),
    "presence": frozenset({"occupied_s", "covered_s"}),
}


@dataclass(frozen=True, slots=True)
class RollupConfig:
    """How readings become hours."""

    limits: Limits = Limits()
    bands: Bands = Bands()
    env_hold_ms: int = 15 * 60_000
    presence_hold_ms: int = 10 * 60_000
    settle_ms: int = 5 * 60_000
    backfill_ms: int = 2 * 86_400_000
    chunk_ms: int = 24 * HOUR_MS


async def compute(
    store: ReadingStore, building: str, start_ms: int, end_ms: int, cfg: RollupConfig
) -> list[Rollup]:
    """Rollups of ``building``'s meters, room and desk sensors, from raw readings.

    For the hours in [start, end), both on hour boundaries.
    """
    where = SpaceFilter(building=building)
    margin = cfg.limits.max_gap_ms
    energy, env, presence = await asyncio.gather(
        store.points(
            stream="energy",
            fields=["energy_wh", "power_w", "circuit"],
            start_ms=start_ms - margin,
            end_ms=end_ms + margin,
            where=where,
        ),
        store.points(
            stream="env",
            fields=["co2_ppm", "temp_c", "rh_pct"],
            start_ms=start_ms - cfg.env_hold_ms,
            end_ms=end_ms,
            where=where,
        ),
        store.points(
            stream="presence",
            fields=["occupied"],
            start_ms=start_ms - cfg.presence_hold_ms,
            end_ms=end_ms,
            where=where,
        ),
    )
    rows: list[Rollup] = []

    def keep(kind: str, device: str, key: str, tags: dict[str, str], hours: dict) -> None:  # type: ignore[type-arg]
        for hour, values in hours.items():
            if start_ms <= hour < end_ms:
                fields = values if isinstance(values, dict) else values.fields()
                rows.append(Rollup(kind, hour, device, key, tags, fields))

    meters: dict[tuple[str, str], list[RawPoint]] = defaultdict(list)
    for p in energy:
        meters[(p.device, str(p.fields.get("circuit") or MAIN_CIRCUIT))].append(p)
    for (device, circuit), pts in meters.items():
        samples = [
            MeterSample(p.ts_ms, float(p.fields["energy_wh"]), float(p.fields.get("power_w", 0)))
            for p in pts
            if "energy_wh" in p.fields
        ]
        keep("energy", device, circuit, pts[-1].tags, meter_hours(samples, cfg.limits))
    for device, pts in _by_device(env).items():
        climate = [(p.ts_ms, _num(p, "co2_ppm"), _num(p, "temp_c"), _num(p, "rh_pct")) for p in pts]
        env_h = env_hours(climate, bands=cfg.bands, hold_ms=cfg.env_hold_ms, end_ms=end_ms)
        keep("env", device, "", pts[-1].tags, {h: e.values for h, e in env_h.items()})
    for device, pts in _by_device(presence).items():
        states = [(p.ts_ms, float(p.fields.get("occupied", 0))) for p in pts]
        on = state_hours(states, hold_ms=cfg.presence_hold_ms, end_ms=end_ms)
        renamed = {h: {"occupied_s": v["on_s"], "covered_s": v["covered_s"]} for h, v in on.items()}
        keep("presence", device, "", pts[-1].tags, renamed)
    return rows


def _by_device(points: Sequence[RawPoint]) -> dict[str, list[RawPoint]]:
    out: dict[str, list[RawPoint]] = defaultdict(list)
    for p in points:
        out[p.device].append(p)
    for pts in out.values():
        pts.sort(key=lambda p: p.ts_ms)
    return out


def _num(p: RawPoint, name: str) -> float | None:
    v = p.fields.get(name)
    return float(v) if isinstance(v, int | float) else None


@dataclass
class Progress:
    """What a building's rollups cover.

    Complete before ``done_until``, except from ``dirty_from`` on (late readings) when set.
    """

    done_until: int
    dirty_from: int | None = None

    @property
    def valid_until(self) -> int:
        """Rollups before this are complete and current."""
        return min(self.done_until, self.dirty_from or self.done_until)


@dataclass
class Rollups:
    """Runs rollups for every building and marks late data (server.privacy expires them)."""

    db: Database
    store: ReadingStore
    cfg: RollupConfig = RollupConfig()
    clock: Callable[[], float] = time.time
    on_progress: Callable[[str, int], None] | None = None
    _done: dict[str, int] = field(default_factory=dict)
    _done_read: float = 0.0

    def now_ms(self) -> int:
        """The clock in epoch ms."""
        return int(self.clock() * 1000)

    def progress(self, building: str) -> Progress | None:
        """How far a building's rollups have got (None: never run)."""
        with self.db.session(commit=False) as s:
            row = s.get(RollupState, building)
            return Progress(row.done_until_ms, row.dirty_from_ms) if row else None

    async def run(self) -> int:
        """Roll up every building as far as settled hours go; returns rows written."""
        with self.db.session(commit=False) as s:
            buildings = list(s.scalars(select(Building.id).order_by(Building.id)))
        written = 0
        for b in buildings:
            try:
                written += await self.roll(b)
            except Exception:  # one building's trouble must not stop the others
                logger.exception("rollups of %s failed", b)
        return written

    async def roll(self, building: str, *, since_ms: int | None = None) -> int:
        """Roll up one building; ``since_ms`` redoes from there (a rebuild)."""
        now = self.now_ms()
        target = hour_of(now - self.cfg.settle_ms)
        p = await run_in_threadpool(self.progress, building)
        if since_ms is not None:
            start = hour_of(since_ms)
        elif p is None:
            start = hour_of(now - self.cfg.backfill_ms)
        else:
            start = p.valid_until
        written = 0
        t = start
        while t < target:
            end = min(target, t + self.cfg.chunk_ms)
            rows = await compute(self.store, building, t, end, self.cfg)
            if rows:
                await self.store.write_rollups(rows)
            written += len(rows)
            t = end
        if start < target or p is None:
            await run_in_threadpool(
                self._save,
                building,
                max(target, p.done_until if p else 0),
                p.dirty_from if p else None,
                now,
            )
        if written:
            logger.info(
                "rolled up %s: %d rows for %d hour(s)",
                building,
                written,
                (target - start) // HOUR_MS,
            )
        return written

    def _save(self, building: str, done_until: int, seen_dirty: int | None, now: int) -> None:
        with self.db.session() as s:
            row = s.get(RollupState, building, with_for_update=True)
            if row is None:
                s.add(
                    RollupState(
                        building_id=building,
                        done_until_ms=done_until,
                        dirty_from_ms=None,
                        updated_ms=now,
                    )
                )
            else:
                row.done_until_ms = done_until
                row.updated_ms = now
                # Marked again while this ran: leave it for the next run.
                if row.dirty_from_ms == seen_dirty:
                    row.dirty_from_ms = None
        self._done[building] = done_until
        if self.on_progress is not None:
            self.on_progress(building, done_until)

    def mark_late(self, readings: Sequence[StoredReading]) -> None:
        """Note readings for hours already rolled up (a gateway's late outbox)."""
        if time.monotonic() - self._done_read > 60:
            with self.db.session(commit=False) as s:
                done = select(RollupState.building_id, RollupState.done_until_ms)
                self._done = dict(s.execute(done).all())
            self._done_read = time.monotonic()
        earliest: dict[str, int] = {}
        for r in readings:
            if r.stream not in ROLLED_STREAMS or r.space is None:
                continue
            b, ts = r.space.building, r.ts_ms
            if ts < self._done.get(b, -1) and ts < earliest.get(b, ts + 1):
                earliest[b] = ts
        if not earliest:
            return
        with self.db.session() as s:
            for b, ts in earliest.items():
                s.execute(
                    update(RollupState)
                    .where(RollupState.building_id == b)
                    .values(
                        dirty_from_ms=case(
                            (RollupState.dirty_from_ms.is_(None), ts),
                            (RollupState.dirty_from_ms > ts, ts),
                            else_=RollupState.dirty_from_ms,
                        )
                    )
                )
        logger.info("late readings: rollups of %s will be redone", ", ".join(sorted(earliest)))


def combine(old: float | None, value: float, agg: RollupAgg) -> float:
    """``value`` added to ``old`` by the field's aggregation (sum, max or min)."""
    if old is None:
        return value
    return old + value if agg == "sum" else max(old, value) if agg == "max" else min(old, value)


@dataclass
class HourlyView:
    """A building's hourly data for one request.

    Rollups where they are complete, and the hours after that computed from raw readings
    the same way (once per view).
    """

    rollups: Rollups
    building: str
    first: int
    last: int
    split: int
    live: list[Rollup]

    @classmethod
    async def open(cls, rollups: Rollups, building: str, first: int, last: int) -> HourlyView:
        """The view of [first, last), both on hour boundaries."""
        progress = await run_in_threadpool(rollups.progress, building)
        split = max(first, min(last, progress.valid_until if progress else first))
        if last - split > MAX_LIVE_MS and progress is not None:
            # Late readings made many hours stale: their redone rollups come within minutes;
            # meanwhile the old ones answer rather than days of raw readings.
            split = max(split, min(last, progress.done_until))
        # At most the newest MAX_LIVE_MS come from raw readings; rollups that were never
        # made (a new installation's old readings) need `smartoffice energy rollup --since`.
        split = max(split, last - MAX_LIVE_MS)
        live = []
        if last > split:
            live = await compute(rollups.store, building, split, last, rollups.cfg)
        return cls(rollups, building, first, last, split, live)

    async def rows(
        self,
        kind: str,
        values: Mapping[str, RollupAgg],
        *,
        where: SpaceFilter,
        by: Sequence[str] = (),
        every: timedelta = timedelta(hours=1),
        offset: timedelta = timedelta(0),
    ) -> list[RollupRow]:
        """Like ReadingStore.rollups over the whole view."""
        out: list[RollupRow] = []
        if self.split > self.first:
            window = Window(self.first, self.split, every, offset)
            out = await self.rollups.store.rollups(
                kind=kind, values=values, window=window, where=where, by=by
            )
        if self.live:
            probe = Window(self.split, self.last, every, offset)
            off, step = probe.offset_ms, probe.every_ms
            acc: dict[tuple[int, tuple[str, ...]], dict[str, float]] = {}
            for r in self.live:
                tags = {**r.tags, "device": r.device, "key": r.key}
                if r.kind != kind or any(tags.get(t) != v for t, v in where.items()):
                    continue
                bucket = (r.hour_ms - off) // step * step + off
                vals = acc.setdefault((bucket, tuple(tags.get(t, "") for t in by)), {})
                for name, agg in values.items():
                    if name not in r.fields:
                        continue
                    v = r.fields[name]
                    old = vals.get(name)
                    vals[name] = (
                        v
                        if old is None
                        else (
                            old + v
                            if agg == "sum"
                            else max(old, v)
                            if agg == "max"
                            else min(old, v)
                        )
                    )
            out += [RollupRow(b, dict(zip(by, g, strict=True)), v) for (b, g), v in acc.items()]
        return out
