"""Fewer active floors: where a day's desk bookings could move, and which desks to offer first.

A floor nobody uses can be set back all day. ``consolidation`` looks at one day's desk
bookings per floor and suggests moving the bookings of the least used floors onto floors
that are in use anyway, while those have free desks at the busiest moment. People are not
moved by the system: a facility manager asks them, or offers them a desk. ``ranked_desks``
is the booking page's side of it: free desks in zones that are already active come first.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.auth.service import Principal
from server.bookings.availability import DeskFilter, availability
from server.bookings.models import ACTIVE, Booking, DeskLive
from server.bookings.schemas import DeskAvailability
from server.calendar.dates import day_start, from_ms, to_ms
from server.calendar.hours import WorkingHours, building_tz
from server.db import Database
from server.energy.rollup import HourlyView, Rollups
from server.readings.store import HOUR_MS, SpaceFilter
from server.spaces.models import Desk, Floor
from server.spaces.service import desk_places


class FloorLoad(BaseModel):
    """One floor's desk bookings on the day."""

    floor: str
    bookable_desks: int
    bookings: int
    peak_desks: int = Field(description="Most desks booked at one moment.")
    in_team_neighbourhoods: int
    planned: float = Field(
        default=0.0,
        description="People whose work plan says office that day without a desk booked yet "
        "(counted in bookings and peak_desks, rounded up).",
    )


class MoveSuggestion(BaseModel):
    """Move a floor's bookings so the whole floor can be set back."""

    floor: str
    bookings: int
    peak_desks: int
    move_to: dict[str, int] = Field(description="Floor -> desks it would take.")
    in_team_neighbourhoods: int
    typical_kwh: float | None = Field(
        description="Median HVAC and lighting kWh of this floor on a working day (28 days)."
    )
    reason: str


class Consolidation(BaseModel):
    """A day's floors, and the moves that would leave floors empty."""

    building: str
    day: date
    floors: list[FloorLoad]
    empty_floors: list[str]
    suggestions: list[MoveSuggestion]


def floor_loads(session: Session, building: str, day: date) -> list[FloorLoad]:
    """Desk bookings per floor on ``day`` (in the building's time zone)."""
    _, tz = building_tz(session, building)
    s = to_ms(day_start(day, tz))
    e = s + 24 * HOUR_MS
    floors = session.execute(
        select(Floor.id, Floor.code)
        .where(Floor.building_id == building)
        .order_by(Floor.level, Floor.code)
    ).all()
    desks = session.execute(
        select(Desk.id, Desk.floor_id, Desk.bookable, Desk.neighbourhood_id).where(
            Desk.building_id == building
        )
    ).all()
    floor_of = {d.id: d.floor_id for d in desks}
    team = {d.id for d in desks if d.neighbourhood_id is not None}
    bookable: dict[int, int] = defaultdict(int)
    for d in desks:
        bookable[d.floor_id] += int(d.bookable)
    edges: dict[int, list[tuple[int, int]]] = defaultdict(list)
    count: dict[int, int] = defaultdict(int)
    teams: dict[int, int] = defaultdict(int)
    for desk_id, start, end in session.execute(
        select(Booking.desk_id, Booking.start_ms, Booking.end_ms).where(
            Booking.building_id == building,
            Booking.desk_id.is_not(None),
            Booking.state.in_(ACTIVE),
            Booking.start_ms < e,
            Booking.end_ms > s,
        )
    ):
        f = floor_of.get(desk_id)
        if f is None:
            continue
        count[f] += 1
        teams[f] += desk_id in team
        edges[f] += [(max(start, s), 1), (min(end, e), -1)]
    out = []
    for floor_id, code in floors:
        peak = current = 0
        for _, step in sorted(edges[floor_id]):
            current += step
            peak = max(peak, current)
        out.append(
            FloorLoad(
                floor=code,
                bookable_desks=bookable[floor_id],
                bookings=count[floor_id],
                peak_desks=peak,
                in_team_neighbourhoods=teams[floor_id],
            )
        )
    return out


def with_planned(loads: list[FloorLoad], planned: dict[str, float]) -> list[FloorLoad]:
    """The loads with the people planned without a booking counted in (they need desks too)."""
    out = []
    for f in loads:
        n = planned.get(f.floor, 0.0)
        extra = math.ceil(n - 1e-9) if n > 0 else 0
        out.append(
            f.model_copy(
                update={
                    "planned": round(n, 1),
                    "bookings": f.bookings + extra,
                    "peak_desks": min(f.bookable_desks, f.peak_desks + extra),
                }
            )
        )
    return out


async def consolidate(
    db: Database,
    rollups: Rollups,
    *,
    building: str,
    day: date,
    planned: dict[str, float] | None = None,
) -> Consolidation:
    """A day's floors and the moves that would empty some, with each floor's typical kWh.

    ``planned``: people per floor who plan to come without a booking (the work plans'
    forecast), for a day still to come.
    """

    def read() -> tuple[list[FloorLoad], WorkingHours, ZoneInfo]:
        with db.session(commit=False) as s:
            _, tz = building_tz(s, building)
            loads = floor_loads(s, building, day)
            hours = WorkingHours.of(s, building)
            midnight = to_ms(day_start(day, tz))
            hours.open_seconds(midnight - 28 * 86_400_000, midnight)
        return loads, hours, tz

    loads, hours, tz = await run_in_threadpool(read)
    if planned:
        loads = with_planned(loads, planned)
    empty, moves = suggest(loads)
    kwh: dict[str, float] = {}
    if moves:
        midnight = to_ms(day_start(day, tz))
        view = await HourlyView.open(rollups, building, midnight - 28 * 86_400_000, midnight)
        kwh = await typical_floor_kwh(view, hours)
    return Consolidation(
        building=building,
        day=day,
        floors=loads,
        empty_floors=empty,
        suggestions=[
            MoveSuggestion(
                floor=f.floor,
                bookings=f.bookings,
                peak_desks=f.peak_desks,
                move_to=plan,
                in_team_neighbourhoods=f.in_team_neighbourhoods,
                typical_kwh=kwh.get(f.floor),
                reason=explain(f, plan, kwh.get(f.floor)),
            )
            for f, plan in moves
        ],
    )


def suggest(loads: list[FloorLoad]) -> tuple[list[str], list[tuple[FloorLoad, dict[str, int]]]]:
    """Empty floors, and (floor, where its desks would go) for floors that could be emptied.

    Least used floors first; each goes to the kept floors with the most free desks at their
    own busiest moment (a conservative fit: the peaks need not coincide).
    """
    empty = [f.floor for f in loads if f.bookings == 0]
    active = sorted((f for f in loads if f.bookings), key=lambda f: (f.peak_desks, f.floor))
    free = {f.floor: f.bookable_desks - f.peak_desks for f in active}
    moved: set[str] = set()
    out = []
    for f in active:
        kept = [k for k in active if k.floor != f.floor and k.floor not in moved]
        if not kept or f.peak_desks > sum(free[k.floor] for k in kept):
            continue
        need, plan = f.peak_desks, {}
        for k in sorted(kept, key=lambda k: (-free[k.floor], k.floor)):
            take = min(need, free[k.floor])
            if take:
                plan[k.floor] = take
                free[k.floor] -= take
                need -= take
            if not need:
                break
        moved.add(f.floor)
        out.append((f, plan))
    return empty, out


async def typical_floor_kwh(view: HourlyView, hours: WorkingHours) -> dict[str, float]:
    """Median HVAC and lighting kWh per floor on the working days of the view."""
    rows = await view.rows(
        "energy",
        {"wh": "sum"},
        where=SpaceFilter(building=view.building),
        by=["floor", "key"],
        every=timedelta(days=1),
        offset=timedelta(hours=-8),
    )
    daily: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        if r.group["key"] not in ("hvac", "lighting"):
            continue
        midday = from_ms(r.start_ms + 12 * HOUR_MS, hours.tz).date()
        if not isinstance(hours.day(midday), str):
            daily[r.group["floor"]][r.start_ms] += r.values.get("wh", 0.0) / 1000
    return {f: round(statistics.median(days.values()), 2) for f, days in daily.items() if days}


def explain(f: FloorLoad, plan: dict[str, int], kwh: float | None) -> str:
    """Why, in Bahasa Indonesia and English."""
    where = ", ".join(f"{n} ke {floor}" for floor, n in plan.items())
    where_en = ", ".join(f"{n} to {floor}" for floor, n in plan.items())
    saving = f" (biasanya {kwh} kWh/hari / typically {kwh} kWh a day)" if kwh else ""
    return (
        f"Pindahkan {f.bookings} pemesanan ({where}) agar lantai {f.floor} dapat "
        f"diturunkan sepanjang hari / Move {f.bookings} booking(s) ({where_en}) so floor "
        f"{f.floor} can be set back all day{saving}"
    )


def zone_activity(session: Session, building: str, start: int, end: int) -> dict[str, int]:
    """Zone code -> bookings in [start, end) plus desks occupied now: how active it is."""
    zone_of = {d: p.zone for d, p in desk_places(session, building).items()}
    # The building's desks as a subquery: the index on (desk, start, end) serves.
    ours = select(Desk.id).where(Desk.building_id == building).scalar_subquery()
    out: dict[str, int] = defaultdict(int)
    for (desk_id,) in session.execute(
        select(Booking.desk_id).where(
            Booking.desk_id.in_(ours),
            Booking.state.in_(ACTIVE),
            Booking.start_ms < end,
            Booking.end_ms > start,
        )
    ):
        if desk_id in zone_of:
            out[zone_of[desk_id]] += 1
    for (desk_id,) in session.execute(
        select(DeskLive.desk_id).where(DeskLive.occupied.is_(True), DeskLive.desk_id.in_(ours))
    ):
        out[zone_of[desk_id]] += 1
    return dict(out)


class RankedDesk(BaseModel):
    """A free desk, and why it is offered in this place of the list."""

    desk: DeskAvailability
    zone_activity: int = Field(description="Bookings in its zone for the slot, plus people now.")
    reason: str


def ranked_desks(
    session: Session,
    *,
    actor: Principal,
    building: str,
    start: datetime,
    end: datetime,
    desks: DeskFilter,
    limit: int,
    now: datetime | None = None,
) -> list[RankedDesk]:
    """Free desks of the building for the slot, those in active zones and floors first."""
    s, e = to_ms(start), to_ms(end)
    active = zone_activity(session, building, s, e)
    floors = session.scalars(
        select(Floor.code).where(Floor.building_id == building).order_by(Floor.level, Floor.code)
    ).all()
    zones_on: dict[str, set[str]] = defaultdict(set)
    free: list[DeskAvailability] = []
    for floor in floors:
        for d in availability(
            session,
            actor=actor,
            building=building,
            floor=floor,
            start=start,
            end=end,
            desks=desks,
            now=now,
        ):
            zones_on[floor].add(d.zone or "")
            if d.state == "free":
                free.append(d)
    floor_active = {f: sum(active.get(z, 0) for z in zs) for f, zs in zones_on.items()}
    free.sort(key=lambda d: (-active.get(d.zone or "", 0), -floor_active.get(d.floor, 0), d.id))
    out = []
    for d in free[:limit]:
        n = active.get(d.zone or "", 0)
        if n:
            why = (
                f"Zona {d.zone} sudah aktif ({n}); memilihnya menghemat energi / "
                f"Zone {d.zone} is already in use ({n}); choosing it saves energy"
            )
        elif floor_active.get(d.floor):
            why = f"Lantai {d.floor} sudah aktif / Floor {d.floor} is already in use"
        else:
            why = "Zona belum aktif / Zone not in use yet"
        out.append(RankedDesk(desk=d, zone_activity=n, reason=why))
    return out
