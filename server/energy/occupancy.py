"""Occupancy over time from the desks' sensors: heatmaps, peak, average, time against target.

What occupancy products give facility managers, from the hourly presence rollups: for each
floor or zone, how many desks were occupied on average in each hour of each weekday, the
busiest hour, the average over working hours, and how many working hours the occupancy was
under, at or over a target share of the desks. Aggregates only: no desk or person is named.

An hour's occupancy is its occupied desk-hours (the sensors' occupied seconds over the
desks, divided by 3600), which is the mean number of desks occupied during that hour. Only
working hours the sensors covered count: an hour with no reading is unknown, not empty.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from server.auth.service import Principal
from server.bookings.agencies import SHARED
from server.calendar.dates import from_ms
from server.calendar.hours import WorkingHours
from server.db import Database
from server.energy.rollup import HourlyView, Rollups
from server.readings.store import HOUR_MS, RollupAgg, SpaceFilter
from server.spaces.models import Floor
from server.spaces.service import desk_places
from server.suppression import withheld

OccupancyBy = Literal["building", "floor", "zone", "agency"]
# "At target" is within this many percentage points of it.
TARGET_BAND: Final = 0.05


class HeatCell(BaseModel):
    """One hour of one weekday, averaged over the period's working days."""

    weekday: int = Field(description="0 = Monday ... 6 = Sunday")
    hour: int = Field(description="The hour of the day in the building's time zone")
    days: int = Field(description="How many such hours the period held")
    occupied: float = Field(description="Desks occupied on average in that hour")
    share: float = Field(description="occupied / desks")


class DayTotal(BaseModel):
    """One working day of the period."""

    day: date
    occupied_desk_hours: float
    peak_occupied: float


class OccupancyGroup(BaseModel):
    """A floor, zone or the building over the period."""

    group: str
    desks: int
    open_hours: int = Field(description="Working hours of the period the sensors covered")
    average_occupied: float = Field(description="Desks occupied on average in working hours")
    average_share: float
    peak_occupied: float = Field(description="The highest hourly average")
    peak_at: datetime | None
    hours_under: int = Field(description="Working hours below the target band")
    hours_at: int = Field(description="Working hours within the target band")
    hours_over: int = Field(description="Working hours above the target band")
    heatmap: list[HeatCell]
    busiest_days: list[DayTotal] = Field(description="Working days, busiest first (at most 5)")


class OccupancyReport(BaseModel):
    """Occupancy per group for a period, with the target it is measured against."""

    building: str
    start: datetime
    end: datetime
    by: OccupancyBy
    target: float = Field(description="Target share of desks occupied (0-1)")
    target_band: float = TARGET_BAND
    groups: list[OccupancyGroup]
    min_group: int = Field(description="Groups of fewer desks than this are withheld (privacy)")
    withheld: list[str] = Field(
        default_factory=list, description="Groups withheld: too few desks to show (privacy)"
    )


@dataclass(frozen=True, slots=True)
class OccupancyQuery:
    """What to report on: a building's hours [first, last) grouped ``by``, against ``target``."""

    building: str
    first: int
    last: int
    by: OccupancyBy
    target: float
    min_group: int
    """Groups of fewer desks than this are withheld (server.suppression)."""
    floor: str | None = None
    zone: str | None = None
    agency: str | None = None
    """Only this agency's floors (an agency's manager reads no others); None: all."""


def _desks(
    db: Database, q: OccupancyQuery
) -> tuple[dict[str, set[int]], WorkingHours, dict[str, str]]:
    """The desks of each group, the building's hours, and each floor's agency (or SHARED)."""
    with db.session(commit=False) as session:
        agency_of = {
            f.code: f.agency_id or SHARED
            for f in session.scalars(select(Floor).where(Floor.building_id == q.building))
        }
        desks: dict[str, set[int]] = defaultdict(set)
        for desk_id, place in desk_places(session, q.building).items():
            if q.floor not in (None, place.floor) or q.zone not in (None, place.zone):
                continue
            if q.agency is not None and agency_of.get(place.floor) != q.agency:
                continue
            g = {
                "building": q.building,
                "floor": place.floor,
                "zone": place.zone,
                "agency": agency_of.get(place.floor, SHARED),
            }[q.by]
            desks[g].add(desk_id)
        hours = WorkingHours.of(session, q.building)
        hours.open_seconds(q.first, q.last)  # reads every day of the period
        return dict(desks), hours, agency_of


async def occupancy(
    db: Database, rollups: Rollups, q: OccupancyQuery, actor: Principal
) -> OccupancyReport:
    """The report as ``actor`` may read it: one group per floor, zone, agency or the building.

    An agency's manager reads their agency's floors only (its building total is theirs).
    Groups of fewer desks than ``q.min_group`` are withheld (with the smallest others, so
    that no total gives one away): the sensors know desks, and a desk's hours are its
    sitter's.
    """
    if actor.scope is not None:
        q = replace(q, agency=actor.scope)
    desks, hours, agency_of = await run_in_threadpool(_desks, db, q)
    hide = withheld(desks, q.min_group)
    size = {g: len(members) for g, members in desks.items() if g not in hide}
    tz = hours.tz
    view = await HourlyView.open(rollups, q.building, q.first, q.last)
    # By agency, or one agency's building: read by floor and add up the floors wanted (the
    # readings know floors, not agencies).
    by_floor = q.by == "agency" or (q.by == "building" and q.agency is not None)
    by = ["floor"] if by_floor else [] if q.by == "building" else [q.by]
    where = SpaceFilter(building=q.building, floor=q.floor, zone=q.zone)
    sums: dict[str, RollupAgg] = {"occupied_s": "sum", "covered_s": "sum"}
    rows = await view.rows("presence", sums, where=where, by=by)
    # Only hours the desks' sensors reported count: an hour nobody measured is unknown,
    # not empty (a building whose sensors came later, a gateway that was down).
    occupied: dict[str, dict[int, float]] = defaultdict(dict)
    for r in rows:
        if r.values.get("covered_s", 0.0) > 0:
            group = r.group.get(by[0], "") if by else q.building
            if by_floor:
                if q.agency is not None and agency_of.get(group) != q.agency:
                    continue
                group = agency_of.get(group, SHARED) if q.by == "agency" else q.building
            hour = occupied[group]
            hour[r.start_ms] = hour.get(r.start_ms, 0.0) + r.values.get("occupied_s", 0.0) / 3600
    open_hours = [h for h in range(q.first, q.last, HOUR_MS) if hours.is_open(h)]
    groups = []
    for g, n in sorted(size.items()):
        seen = occupied.get(g, {})
        groups.append(_group(g, n, seen, [h for h in open_hours if h in seen], q.target, tz))
    return OccupancyReport(
        building=q.building,
        start=from_ms(q.first, tz),
        end=from_ms(q.last, tz),
        by=q.by,
        target=q.target,
        groups=groups,
        min_group=q.min_group,
        withheld=sorted(hide),
    )


def _group(
    name: str,
    desks: int,
    occupied: dict[int, float],
    open_hours: list[int],
    target: float,
    tz: ZoneInfo,
) -> OccupancyGroup:
    cells: dict[tuple[int, int], list[float]] = defaultdict(list)
    days: dict[date, list[float]] = defaultdict(list)
    under = at = over = 0
    peak, peak_at = 0.0, None
    for h in open_hours:
        t = from_ms(h, tz)
        value = occupied.get(h, 0.0)
        cells[(t.weekday(), t.hour)].append(value)
        days[t.date()].append(value)
        share = value / desks if desks else 0.0
        if share < target - TARGET_BAND:
            under += 1
        elif share > target + TARGET_BAND:
            over += 1
        else:
            at += 1
        if value > peak:
            peak, peak_at = value, t
    average = sum(occupied.get(h, 0.0) for h in open_hours) / len(open_hours) if open_hours else 0
    heatmap = [
        HeatCell(
            weekday=wd,
            hour=hr,
            days=len(v),
            occupied=round(sum(v) / len(v), 2),
            share=round(sum(v) / len(v) / desks, 4) if desks else 0.0,
        )
        for (wd, hr), v in sorted(cells.items())
    ]
    busiest = sorted(
        (
            DayTotal(day=d, occupied_desk_hours=round(sum(v), 2), peak_occupied=round(max(v), 2))
            for d, v in days.items()
        ),
        key=lambda x: (-x.occupied_desk_hours, x.day),
    )[:5]
    return OccupancyGroup(
        group=name,
        desks=desks,
        open_hours=len(open_hours),
        average_occupied=round(average, 2),
        average_share=round(average / desks, 4) if desks else 0.0,
        peak_occupied=round(peak, 2),
        peak_at=peak_at,
        hours_under=under,
        hours_at=at,
        hours_over=over,
        heatmap=heatmap,
        busiest_days=busiest,
    )


def as_csv(report: OccupancyReport) -> str:
    """The heatmaps as CSV: one line per group, weekday and hour."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["group", "desks", "weekday", "hour", "days", "occupied", "share"])
    for g in report.groups:
        for c in g.heatmap:
            out.writerow([g.group, g.desks, c.weekday, c.hour, c.days, c.occupied, c.share])
    return buf.getvalue()
