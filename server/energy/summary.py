"""Energy per circuit, zone, floor or building, per hour, day or month, against desk use.

Hours before the building's rollup progress come from the hourly rollups; later hours (the
current one, and any a late reading made stale) are computed from raw readings the same
way. Out-of-hours energy is the part of each hour outside the building's working hours.
Occupied desk-hours come from the desk sensors, booked desk-hours from the bookings.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.bookings.models import Booking
from server.calendar.dates import from_ms, to_ms
from server.calendar.hours import WorkingHours
from server.db import Database
from server.energy.accounting import hour_of, spans
from server.energy.rollup import HourlyView, Rollups
from server.exceptions import QueryError
from server.readings.store import HOUR_MS, RollupAgg, RollupRow, SpaceFilter
from server.spaces.service import desk_places
from server.suppression import withheld

Every = Literal["1h", "1d", "1mo"]
By = Literal["building", "floor", "zone", "circuit"]
MAX_HOURS = 366 * 24 * 2
POWER_NOW_MS = 5 * 60_000
METHOD = (
    "kWh from each meter's cumulative counter between consecutive readings, spread over the "
    "hours each interval spans; resets and replaced meters are estimated from power; gaps "
    "longer than the limit are left out (see coverage). docs/energy.md has the formulas."
)


class EnergyRow(BaseModel):
    """Energy and desk use of one group over one period."""

    start: datetime
    end: datetime
    group: str
    kwh: float
    circuits: dict[str, float] = Field(description="kWh per circuit label.")
    out_of_hours_kwh: float
    estimated_kwh: float = Field(description="Part of kwh estimated from power (resets).")
    coverage: float | None = Field(description="Share of meter-time with readings, 0..1.")
    meters: int
    desk_use_withheld: bool = Field(
        default=False,
        description="The group has too few desks to show their use (privacy): the desk-hour "
        "figures are None.",
    )
    occupied_desk_hours: float | None
    booked_desk_hours: float | None
    kwh_per_occupied_desk_hour: float | None
    kwh_per_booked_desk_hour: float | None


DESK_USE: Final = (
    "occupied_desk_hours",
    "booked_desk_hours",
    "kwh_per_occupied_desk_hour",
    "kwh_per_booked_desk_hour",
)
"""The figures of a row that come from people at desks (withheld for small groups)."""


class EnergySummary(BaseModel):
    """The summary for a building (or a floor or zone of it) and period."""

    building: str
    floor: str | None
    zone: str | None
    start: datetime
    end: datetime
    every: Every
    by: By
    timezone: str
    totals: EnergyRow
    out_of_hours_share: float | None
    power_now_w: float
    power_now_circuits: dict[str, float]
    rows: list[EnergyRow]
    method: str = METHOD


@dataclass(frozen=True, slots=True)
class Scope:
    """What to summarise."""

    building: str
    start: datetime
    end: datetime
    every: Every = "1d"
    by: By = "building"
    floor: str | None = None
    zone: str | None = None

    @property
    def where(self) -> SpaceFilter:
        """The store filter."""
        return SpaceFilter(building=self.building, floor=self.floor, zone=self.zone)

    def group_tag(self) -> str | None:
        """The reading tag the groups come from (None: one group, or circuits)."""
        return self.by if self.by in ("floor", "zone") else None


@dataclass
class _Acc:
    circuits: dict[str, float]
    est: float = 0.0
    covered_s: float = 0.0
    out_of_hours: float = 0.0
    occupied_h: float = 0.0
    booked_h: float = 0.0


def _bucket(hour_ms: int, every: Every, tz: ZoneInfo) -> tuple[int, int]:
    """The [start, end) in ms of the hour, local day or local month holding ``hour_ms``."""
    if every == "1h":
        return hour_ms, hour_ms + HOUR_MS
    t = from_ms(hour_ms, tz)
    if every == "1d":
        s = t.replace(hour=0, minute=0, second=0, microsecond=0)
        e = s + timedelta(days=1)
    else:
        s = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        e = (s + timedelta(days=32)).replace(day=1)
    return to_ms(s), to_ms(e)


def booked_hours(
    session: Session, scope: Scope, start_ms: int, end_ms: int
) -> dict[tuple[int, str], float]:
    """Booked desk-hours per (hour, group): bookings not cancelled, until any release."""
    places = desk_places(session, scope.building)
    out: dict[tuple[int, str], float] = defaultdict(float)
    rows = session.execute(
        select(Booking.desk_id, Booking.start_ms, Booking.end_ms, Booking.released_ms).where(
            Booking.building_id == scope.building,
            Booking.desk_id.is_not(None),
            Booking.state != "cancelled",
            Booking.start_ms < end_ms,
            Booking.end_ms > start_ms,
        )
    )
    for desk_id, s, e, released in rows:
        if desk_id not in places:
            continue
        floor, zone = places[desk_id].floor, places[desk_id].zone
        if (scope.floor and floor != scope.floor) or (scope.zone and zone != scope.zone):
            continue
        group = _group_of(scope, {"floor": floor, "zone": zone})
        until = min(e, released) if released is not None else e
        for hour, part in spans(max(s, start_ms), min(until, end_ms)):
            out[(hour, group)] += part / HOUR_MS
    return out


def _group_of(scope: Scope, tags: dict[str, str]) -> str:
    tag = scope.group_tag()
    return tags.get(tag, "") if tag else scope.building


def hour_range(scope: Scope) -> tuple[int, int]:
    """The scope's period widened to whole hours, in ms."""
    start = to_ms(scope.start)
    end = to_ms(scope.end)
    if end <= start:
        raise QueryError("end must be after start")
    first, last = hour_of(start), -(-end // HOUR_MS) * HOUR_MS
    if (last - first) // HOUR_MS > MAX_HOURS:
        raise QueryError("at most two years at a time")
    return first, last


@dataclass
class _Facts:
    hours: WorkingHours
    booked: dict[tuple[int, str], float]
    desks: dict[str, set[int]]
    """The scope's desks per group of desk use (by circuit: the whole scope's)."""


def _facts(db: Database, scope: Scope, first: int, last: int) -> _Facts:
    """What the relational database says: working hours (every day read now) and bookings."""
    with db.session(commit=False) as session:
        hours = WorkingHours.of(session, scope.building)
        hours.open_seconds(first, last)  # reads every day of the period
        booked = booked_hours(session, scope, first, last)
        desks: dict[str, set[int]] = defaultdict(set)
        for desk_id, p in desk_places(session, scope.building).items():
            if scope.floor in (None, p.floor) and scope.zone in (None, p.zone):
                g = {"floor": p.floor, "zone": p.zone}.get(scope.by, scope.building)
                desks[g].add(desk_id)
    return _Facts(hours, booked, dict(desks))


async def summarise(
    *, scope: Scope, db: Database, rollups: Rollups, now_ms: int, min_group: int = 1
) -> EnergySummary:
    """The energy summary for ``scope``.

    The desk-hours of a group of fewer than ``min_group`` desks are withheld (the API and
    the pages pass the privacy setting; 1 withholds nothing).
    """
    first, last = hour_range(scope)
    facts = await run_in_threadpool(_facts, db, scope, first, last)
    hide = withheld(facts.desks, min_group)
    # The totals are the whole scope's desks: withheld when even those are too few.
    few = 0 < len(set().union(*facts.desks.values())) < min_group
    hours, tz = facts.hours, facts.hours.tz
    tag = scope.group_tag()
    by = [t for t in (tag,) if t]
    view = await HourlyView.open(rollups, scope.building, first, last)
    # Days (local midnight to midnight) unless hours are asked for: a year is 366 rows per
    # group and circuit. Out-of-hours energy needs hours, but not per circuit.
    hourly = timedelta(hours=1)
    step = hourly if scope.every == "1h" else timedelta(days=1)
    offset = -(tz.utcoffset(scope.start.replace(tzinfo=None)) or timedelta(0))
    sums: dict[str, RollupAgg] = {"wh": "sum", "wh_est": "sum", "covered_s": "sum"}
    energy_rows = await view.rows(
        "energy", sums, where=scope.where, by=["key", *by], every=step, offset=offset
    )
    ooh_by = ["key"] if scope.by == "circuit" else by
    hour_rows = await view.rows("energy", {"wh": "sum"}, where=scope.where, by=ooh_by)
    presence_rows = await view.rows(
        "presence", {"occupied_s": "sum"}, where=scope.where, by=by, every=step, offset=offset
    )
    whole = timedelta(milliseconds=last - first)
    meters = {
        (r.group["device"], r.group["key"], r.group.get(tag or "", ""))
        for r in await view.rows(
            "energy",
            {"covered_s": "sum"},
            where=scope.where,
            by=["device", "key", *by],
            every=whole,
        )
    }

    acc: dict[tuple[int, str], _Acc] = {}
    buckets: dict[int, int] = {}

    def bucket_of(start_ms: int) -> int:
        if start_ms not in buckets:
            buckets[start_ms] = _bucket(max(start_ms, first), scope.every, tz)[0]
        return buckets[start_ms]

    def acc_at(start_ms: int, group: str) -> _Acc:
        key = (bucket_of(start_ms), group)
        if key not in acc:
            acc[key] = _Acc(circuits=defaultdict(float))
        return acc[key]

    def group_of(r: RollupRow) -> str:
        return r.group["key"] if scope.by == "circuit" else _group_of(scope, r.group)

    for r in energy_rows:
        a = acc_at(r.start_ms, group_of(r))
        a.circuits[r.group["key"]] += r.values.get("wh", 0.0) / 1000
        a.est += r.values.get("wh_est", 0.0) / 1000
        a.covered_s += r.values.get("covered_s", 0.0)
    closed: dict[int, float] = {}
    for r in hour_rows:
        if r.start_ms not in closed:
            closed[r.start_ms] = 1 - hours.open_seconds(r.start_ms, r.start_ms + HOUR_MS) / 3600
        acc_at(r.start_ms, group_of(r)).out_of_hours += (
            r.values.get("wh", 0.0) / 1000 * closed[r.start_ms]
        )
    # Desk use per bucket and group of desks (by circuit: the whole scope's desks, as a
    # circuit serves them all): one answer, however the energy is grouped.
    occupied: dict[tuple[int, str], float] = defaultdict(float)
    booked: dict[tuple[int, str], float] = defaultdict(float)
    for r in presence_rows:
        occupied[bucket_of(r.start_ms), _group_of(scope, r.group)] += r.values["occupied_s"] / 3600
    for (hour, group), h in facts.booked.items():
        booked[bucket_of(hour), group] += h
    if scope.by == "circuit":
        for (bucket, _), a in acc.items():
            whole_scope = (bucket, scope.building)
            a.occupied_h, a.booked_h = occupied[whole_scope], booked[whole_scope]
    else:
        for place in {*occupied, *booked}:
            a = acc_at(*place)
            a.occupied_h, a.booked_h = occupied[place], booked[place]

    meters_in: dict[str, int] = defaultdict(int)
    for _, key, g in meters:
        meters_in[key if scope.by == "circuit" else (g if tag else scope.building)] += 1
    rows = []
    for (bucket, group), a in sorted(acc.items()):
        s, e = _bucket(bucket, scope.every, tz)
        s, e = max(s, first), min(e, last)
        desk_group = group if scope.by in ("floor", "zone") else scope.building
        rows.append(
            _row(
                s,
                e,
                group,
                a,
                meters=meters_in[group],
                tz=tz,
                now=now_ms,
                withheld=desk_group in hide,
            )
        )
    total = _Acc(circuits=defaultdict(float))
    for a in acc.values():
        for c, v in a.circuits.items():
            total.circuits[c] += v
        total.est += a.est
        total.covered_s += a.covered_s
        total.out_of_hours += a.out_of_hours
    total.occupied_h, total.booked_h = sum(occupied.values()), sum(booked.values())
    totals = _row(
        first,
        last,
        scope.building,
        total,
        meters=sum(meters_in.values()),
        tz=tz,
        now=now_ms,
        withheld=few,
    )
    power, power_circuits = await power_now(rollups, scope, now_ms)
    return EnergySummary(
        building=scope.building,
        floor=scope.floor,
        zone=scope.zone,
        start=from_ms(first, tz),
        end=from_ms(last, tz),
        every=scope.every,
        by=scope.by,
        timezone=str(tz),
        totals=totals,
        out_of_hours_share=round(totals.out_of_hours_kwh / totals.kwh, 4) if totals.kwh else None,
        power_now_w=power,
        power_now_circuits=power_circuits,
        rows=rows,
    )


def _row(
    s: int, e: int, group: str, a: _Acc, *, meters: int, tz: ZoneInfo, now: int, withheld: bool
) -> EnergyRow:
    kwh = sum(a.circuits.values())
    span_s = max(0, min(e, now) - s) / 1000  # the future has no readings to cover
    row = EnergyRow(
        start=from_ms(s, tz),
        end=from_ms(e, tz),
        group=group,
        kwh=round(kwh, 4),
        circuits={c: round(v, 4) for c, v in sorted(a.circuits.items())},
        out_of_hours_kwh=round(a.out_of_hours, 4),
        estimated_kwh=round(a.est, 4),
        coverage=round(min(1.0, a.covered_s / (meters * span_s)), 4) if meters and span_s else None,
        meters=meters,
        occupied_desk_hours=round(a.occupied_h, 3),
        booked_desk_hours=round(a.booked_h, 3),
        kwh_per_occupied_desk_hour=round(kwh / a.occupied_h, 4) if a.occupied_h else None,
        kwh_per_booked_desk_hour=round(kwh / a.booked_h, 4) if a.booked_h else None,
    )
    if withheld:
        return row.model_copy(update=dict.fromkeys(DESK_USE) | {"desk_use_withheld": True})
    return row


async def power_now(rollups: Rollups, scope: Scope, now_ms: int) -> tuple[float, dict[str, float]]:
    """Total and per-circuit power of the meters heard in the last five minutes."""
    pts = await rollups.store.points(
        stream="energy",
        fields=["power_w", "circuit"],
        start_ms=now_ms - POWER_NOW_MS,
        end_ms=now_ms + 1,
        where=scope.where,
    )
    newest: dict[tuple[str, str], float] = {}
    for p in pts:  # ordered by device and time: the last one wins
        newest[(p.device, str(p.fields.get("circuit") or "main"))] = float(p.fields["power_w"])
    circuits: dict[str, float] = defaultdict(float)
    for (_, c), w in newest.items():
        circuits[c] += w
    return round(sum(circuits.values()), 1), {c: round(w, 1) for c, w in sorted(circuits.items())}


def as_csv(summary: EnergySummary) -> str:
    """The rows as CSV, one column per circuit."""
    circuits = sorted({c for r in summary.rows for c in r.circuits})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "start",
            "end",
            "group",
            "kwh",
            *(f"{c}_kwh" for c in circuits),
            "out_of_hours_kwh",
            "estimated_kwh",
            "coverage",
            "meters",
            "occupied_desk_hours",
            "booked_desk_hours",
            "kwh_per_occupied_desk_hour",
            "kwh_per_booked_desk_hour",
        ]
    )
    for r in summary.rows:
        w.writerow(
            [
                r.start.isoformat(),
                r.end.isoformat(),
                r.group,
                r.kwh,
                *(r.circuits.get(c, 0.0) for c in circuits),
                r.out_of_hours_kwh,
                r.estimated_kwh,
                _blank(r.coverage),
                r.meters,
                _blank(r.occupied_desk_hours),
                _blank(r.booked_desk_hours),
                _blank(r.kwh_per_occupied_desk_hour),
                _blank(r.kwh_per_booked_desk_hour),
            ]
        )
    return buf.getvalue()


def _blank(v: float | None) -> float | str:
    return "" if v is None else v
