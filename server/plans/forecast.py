"""Expected attendance per floor and zone for the days ahead, from bookings and work plans.

For each day, a zone expects the people who booked one of its desks, and the people whose
work plan says they are at the office that day without a desk booked yet: in their
preferred zone if they chose one, else spread over the zones of their agency's floors in
their office (by desks), so a forecast can be fractional. The building acts on it a day
ahead (``server.energy``: a zone nobody is expected in starts the day set back, one with
people expected is pre-conditioned for the opening), and the forecast made the afternoon
before is kept (``forecasts``) to be measured against what the desks' sensors saw.

Managers read it as counts per floor or zone (small groups withheld); nobody is named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.auth.models import User
from server.auth.service import Principal
from server.bookings.models import ACTIVE, Booking
from server.calendar.dates import day_start, from_ms, to_ms, today_in
from server.calendar.hours import zone_for
from server.clock import now_utc
from server.db import Database
from server.energy.rollup import HourlyView, Rollups
from server.exceptions import Forbidden
from server.i18n import T
from server.plans.models import ForecastRow, PlanDay, WorkPlan
from server.plans.service import offices
from server.readings.store import RollupAgg, SpaceFilter
from server.roles import REPORTERS
from server.spaces.models import Building, Desk, Floor, Zone
from server.suppression import withheld

KEPT_DAYS = 366
"""How long kept forecasts stay (they name nobody): a year of accuracy to look back on."""
AFTERNOON_HOUR = 15
"""From this hour (the building's time) tomorrow's forecast is kept, for the day's start."""


@dataclass
class ZoneDay:
    """One zone on one day: who booked it, who plans to come without a booking."""

    floor: str
    zone: str
    booked: set[int] = field(default_factory=set)
    planned: dict[int, float] = field(default_factory=dict)
    """Each person expected without a booking, with their share of being here (0-1)."""

    @property
    def expected(self) -> float:
        """People expected: those booked and the planned shares."""
        return len(self.booked) + sum(self.planned.values())

    @property
    def people(self) -> set[int]:
        """Everyone who may come (for withholding small groups)."""
        return self.booked | set(self.planned)


def _office_people(
    session: Session, building: str
) -> dict[int, tuple[str | None, int | None, str]]:
    """People with a plan whose office is ``building``: (agency, preferred zone id, week)."""
    known = offices(session)
    out = {}
    for uid, agency, plan_building, zone_id, week in session.execute(
        select(User.id, User.agency_id, WorkPlan.building_id, WorkPlan.zone_id, WorkPlan.week)
        .join(WorkPlan, WorkPlan.user_id == User.id)
        .where(User.active)
    ):
        if (plan_building or known.of(agency)) == building:
            out[uid] = (agency, zone_id, week)
    return out


Zones = tuple[dict[int, tuple[str, str]], dict[str | None, dict[str, int]], dict[int, str]]


def _zones(session: Session, building: str) -> Zones:
    """The building's zones as the forecast needs them.

    HVAC zones (id: floor, code); the desks in each HVAC zone of each agency's floors; the
    HVAC zone each neighbourhood's desks are mostly in.
    """
    floors = {
        f.id: (f.code, f.agency_id)
        for f in session.scalars(select(Floor).where(Floor.building_id == building))
    }
    hvac = {
        z.id: (floors[z.floor_id][0], z.code)
        for z in session.scalars(
            select(Zone).where(Zone.building_id == building, Zone.kind == "hvac")
        )
    }
    spread: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    near: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for floor_id, zone_id, hood in session.execute(
        select(Desk.floor_id, Desk.zone_id, Desk.neighbourhood_id).where(
            Desk.building_id == building, Desk.bookable
        )
    ):
        if zone_id in hvac:
            spread[floors[floor_id][1]][hvac[zone_id][1]] += 1
            if hood is not None:
                near[hood][hvac[zone_id][1]] += 1
    mostly = {h: max(counts, key=lambda z: counts[z]) for h, counts in near.items()}
    return hvac, {a: dict(z) for a, z in spread.items()}, mostly


def forecast(
    session: Session, *, building: str, first: date, days: int
) -> dict[date, dict[str, ZoneDay]]:
    """Each day's zones, from ``first``: booked people and planned shares (unsuppressed)."""
    tz = zone_for(session, building)
    last = first + timedelta(days=days - 1)
    hvac, spread, mostly = _zones(session, building)
    out: dict[date, dict[str, ZoneDay]] = {
        first + timedelta(days=i): {
            code: ZoneDay(floor, code) for floor, code in sorted(hvac.values())
        }
        for i in range(days)
    }
    desk_zone = {
        d: hvac[z][1]
        for d, z in session.execute(
            select(Desk.id, Desk.zone_id).where(Desk.building_id == building)
        )
        if z in hvac
    }
    booked_on: dict[date, set[int]] = defaultdict(set)
    for desk_id, user_id, start in session.execute(
        select(Booking.desk_id, Booking.user_id, Booking.start_ms).where(
            Booking.building_id == building,
            Booking.space_kind == "desk",
            Booking.state.in_((*ACTIVE, "completed")),
            Booking.start_ms >= to_ms(day_start(first, tz)),
            Booking.start_ms < to_ms(day_start(last + timedelta(days=1), tz)),
        )
    ):
        day = from_ms(start, tz).date()
        zone = desk_zone.get(desk_id or 0)
        if day in out and zone is not None and user_id is not None:
            out[day][zone].booked.add(user_id)
            booked_on[day].add(user_id)
    people = _office_people(session, building)
    own: dict[int, dict[date, str]] = defaultdict(dict)
    for uid, day_s, place in session.execute(
        select(PlanDay.user_id, PlanDay.day, PlanDay.place).where(
            PlanDay.day >= first.isoformat(), PlanDay.day <= last.isoformat()
        )
    ):
        own[uid][date.fromisoformat(day_s)] = place
    for uid, (agency, zone_id, week) in people.items():
        parts = (week or "").split(",")
        shares = _shares(zone_id, agency, hvac, spread, mostly)
        for day in out:
            usual = parts[day.weekday()] if day.weekday() < len(parts) else ""
            place = own.get(uid, {}).get(day) or usual
            if place != "office" or uid in booked_on[day]:
                continue
            for zone, share in shares.items():
                if zone in out[day]:
                    out[day][zone].planned[uid] = share
    return out


def _shares(
    zone_id: int | None,
    agency: str | None,
    hvac: dict[int, tuple[str, str]],
    spread: dict[str | None, dict[str, int]],
    mostly: dict[int, str],
) -> dict[str, float]:
    """Where a person without a booking is expected: their zone, else their agency's floors."""
    if zone_id is not None and zone_id in hvac:
        return {hvac[zone_id][1]: 1.0}
    if zone_id is not None and zone_id in mostly:
        return {mostly[zone_id]: 1.0}
    desks = spread.get(agency) or spread.get(None) or {}
    total = sum(desks.values())
    return {z: n / total for z, n in desks.items()} if total else {}


class PlaceCount(BaseModel):
    """A floor or zone on a day: booked desks and people expected (withheld when few)."""

    floor: str
    zone: str | None = Field(default=None, description="None: the floor as a whole.")
    booked: int | None
    expected: float | None = Field(description="Booked plus planned shares; None: withheld.")


class ForecastDay(BaseModel):
    """A day's expected attendance per floor and zone."""

    day: date
    expected: float = Field(description="The building's whole day (never withheld).")
    floors: list[PlaceCount]
    zones: list[PlaceCount]


def public(
    found: dict[date, dict[str, ZoneDay]], min_group: int, floors: set[str] | None = None
) -> list[ForecastDay]:
    """The forecast as managers read it: counts, never names.

    Groups of fewer people than ``min_group`` are withheld; only ``floors`` (an agency's
    manager's), or all.
    """
    out = []
    for day, zones in sorted(found.items()):
        shown = {z: zd for z, zd in zones.items() if floors is None or zd.floor in floors}
        by_floor: dict[str, list[ZoneDay]] = defaultdict(list)
        for zd in shown.values():
            by_floor[zd.floor].append(zd)
        floor_people = {f: set().union(*(z.people for z in zs)) for f, zs in by_floor.items()}
        hide_floors = withheld(floor_people, min_group)
        hide_zones = withheld({z: zd.people for z, zd in shown.items()}, min_group)
        out.append(
            ForecastDay(
                day=day,
                expected=round(sum(zd.expected for zd in shown.values()), 1),
                floors=[
                    PlaceCount(
                        floor=f,
                        booked=None if f in hide_floors else sum(len(z.booked) for z in zs),
                        expected=(
                            None if f in hide_floors else round(sum(z.expected for z in zs), 1)
                        ),
                    )
                    for f, zs in sorted(by_floor.items())
                ],
                zones=[
                    PlaceCount(
                        floor=zd.floor,
                        zone=z,
                        booked=None if z in hide_zones else len(zd.booked),
                        expected=None if z in hide_zones else round(zd.expected, 1),
                    )
                    for z, zd in sorted(shown.items())
                ],
            )
        )
    return out


def keep(session: Session, *, building: str, now: datetime) -> int:
    """Keep the forecast of today (if none yet) and, from the afternoon, of tomorrow."""
    tz = zone_for(session, building)
    local = now.astimezone(tz)
    wanted = [local.date()]
    if local.hour >= AFTERNOON_HOUR:
        wanted.append(local.date() + timedelta(days=1))
    kept = set(
        session.scalars(
            select(ForecastRow.day)
            .where(
                ForecastRow.building_id == building,
                ForecastRow.day.in_([d.isoformat() for d in wanted]),
            )
            .distinct()
        )
    )
    made = 0
    for day in wanted:
        if day.isoformat() in kept:
            continue
        zones = forecast(session, building=building, first=day, days=1)[day]
        for zd in zones.values():
            session.add(
                ForecastRow(
                    building_id=building,
                    day=day.isoformat(),
                    zone=zd.zone,
                    floor=zd.floor,
                    booked=len(zd.booked),
                    expected=zd.expected,
                    made_ms=to_ms(now),
                )
            )
            made += 1
    return made


def kept_rows(session: Session, building: str, first: date, last: date) -> Iterable[ForecastRow]:
    """The kept forecasts of ``building`` from ``first`` to ``last``."""
    return session.scalars(
        select(ForecastRow).where(
            ForecastRow.building_id == building,
            ForecastRow.day >= first.isoformat(),
            ForecastRow.day <= last.isoformat(),
        )
    ).all()


def forget_before(session: Session, cutoff: date) -> int:
    """Kept forecasts of days before ``cutoff`` go."""
    gone = session.execute(delete(ForecastRow).where(ForecastRow.day < cutoff.isoformat()))
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


class FloorDay(BaseModel):
    """One floor on one past day: the forecast kept the day before, and what the sensors saw."""

    floor: str
    day: date
    expected: float
    seen: float = Field(description="The day's busiest hour: desks occupied on average.")


class Accuracy(BaseModel):
    """How good the kept forecasts were, against the desks' sensors."""

    building: str
    days: list[FloorDay]
    mean_absolute_error: float | None = Field(
        description="Mean |expected - seen| per floor-day, in people; None without any day."
    )


async def accuracy(
    db: Database,
    rollups: Rollups,
    *,
    building: str,
    first: date,
    last: date,
    floors: set[str] | None = None,
) -> Accuracy:
    """The kept forecasts of ``first``..``last`` against the sensors' busiest hour per floor.

    A floor-day counts when both are known: a forecast was kept, and the sensors covered it.
    """

    def read() -> tuple[ZoneInfo, list[tuple[str, str, float]]]:
        with db.session(commit=False) as session:
            rows = [(r.floor, r.day, r.expected) for r in kept_rows(session, building, first, last)]
            return zone_for(session, building), rows

    tz, rows = await run_in_threadpool(read)
    expected: dict[tuple[str, date], float] = defaultdict(float)
    for floor, day, value in rows:
        if floors is None or floor in floors:
            expected[(floor, date.fromisoformat(day))] += value
    start, end = to_ms(day_start(first, tz)), to_ms(day_start(last + timedelta(days=1), tz))
    view = await HourlyView.open(rollups, building, start, end)
    sums: dict[str, RollupAgg] = {"occupied_s": "sum", "covered_s": "sum"}
    seen: dict[tuple[str, date], float] = {}
    for r in await view.rows("presence", sums, where=SpaceFilter(building=building), by=["floor"]):
        if r.values.get("covered_s", 0.0) <= 0:
            continue
        key = (r.group.get("floor", ""), from_ms(r.start_ms, tz).date())
        seen[key] = max(seen.get(key, 0.0), r.values.get("occupied_s", 0.0) / 3600)
    days = [
        FloorDay(floor=f, day=d, expected=round(e, 1), seen=round(seen[(f, d)], 1))
        for (f, d), e in sorted(expected.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        if (f, d) in seen
    ]
    mae = sum(abs(x.expected - x.seen) for x in days) / len(days) if days else None
    return Accuracy(
        building=building,
        days=days,
        mean_absolute_error=round(mae, 2) if mae is not None else None,
    )


def planned_today(session: Session, building: str, now_ms: int) -> dict[str, float]:
    """People expected per HVAC zone today without a desk booked (for the energy engine)."""
    tz = zone_for(session, building)
    today = from_ms(now_ms, tz).date()
    zones = forecast(session, building=building, first=today, days=1)[today]
    return {z: sum(zd.planned.values()) for z, zd in zones.items() if zd.planned}


def floors_for(session: Session, actor: Principal, building: str) -> set[str] | None:
    """The floors ``actor`` reads the forecast of: an agency's manager its own; else all."""
    if actor.role not in REPORTERS:
        raise Forbidden(T("the forecast is for facility managers"))
    if actor.scope is None:
        return None
    return set(
        session.scalars(
            select(Floor.code).where(Floor.building_id == building, Floor.agency_id == actor.scope)
        )
    )


def read(
    session: Session,
    *,
    actor: Principal,
    building: str,
    first: date | None,
    days: int,
    min_group: int,
) -> list[ForecastDay]:
    """The forecast as ``actor`` may read it: their floors, small groups withheld."""
    floors = floors_for(session, actor, building)
    start = first or today_in(zone_for(session, building))
    return public(forecast(session, building=building, first=start, days=days), min_group, floors)


def keep_all(
    db: Database, now: datetime | None = None, between: Callable[[], object] | None = None
) -> int:
    """Keep today's and (from the afternoon) tomorrow's forecast of every building.

    ``between``: called between buildings (the job's cancellation point).
    """
    now = now or now_utc()
    with db.session(commit=False) as session:
        buildings = list(session.scalars(select(Building.id).order_by(Building.id)))
    made = 0
    for building in buildings:
        if between is not None:
            between()
        with db.session() as session:
            made += keep(session, building=building, now=now)
    with db.session() as session:
        forget_before(session, now.date() - timedelta(days=KEPT_DAYS))
    return made


def planned_by_floor(session: Session, building: str, day: date) -> dict[str, float]:
    """People per floor on ``day`` whose plan says office without a desk booked."""
    out: dict[str, float] = defaultdict(float)
    for zd in forecast(session, building=building, first=day, days=1)[day].values():
        out[zd.floor] += sum(zd.planned.values())
    return {f: n for f, n in out.items() if n}
