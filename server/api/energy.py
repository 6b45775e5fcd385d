"""Energy and comfort API for facility managers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from server.api.deps import (
    Anyone,
    DatabaseDep,
    Manager,
    MonthParam,
    PlaceParam,
    Reporter,
    SettingsDep,
    services,
)
from server.bookings.availability import DeskFilter
from server.calendar.dates import Day, Moment, aware, to_ms, today_in
from server.calendar.hours import building_tz
from server.db import Database
from server.energy.actions import recorded_actions
from server.energy.comfort import (
    ComfortReport,
    RoomBy,
    recorded_alerts,
    report,
    report_csv,
)
from server.energy.consolidation import (
    Consolidation,
    RankedDesk,
    consolidate,
    ranked_desks,
)
from server.energy.meetings import MeetingsReport, meetings
from server.energy.meetings import as_csv as meetings_csv
from server.energy.occupancy import OccupancyBy, OccupancyQuery, OccupancyReport, occupancy
from server.energy.occupancy import as_csv as occupancy_csv
from server.energy.rollup import HourlyView, Rollups
from server.energy.savings import ACTED_CIRCUITS, SavingsEstimate, SavingsQuery, estimate
from server.energy.schemas import ComfortAlertOut, ZoneActionOut, ZoneActionsOut
from server.energy.split import EnergySplit, SplitKey, split
from server.energy.split import as_csv as split_csv
from server.energy.summary import (
    By,
    EnergySummary,
    Every,
    Scope,
    as_csv,
    hour_range,
    summarise,
)
from server.exceptions import QueryError
from server.i18n import T
from server.plans.forecast import planned_by_floor
from server.readings.store import SpaceFilter

router = APIRouter(prefix="/api/v1", tags=["energy"])
Format = Literal["json", "csv"]


async def _rollups(request: Request) -> Rollups:
    rollups: Rollups = services(request).rollups
    return rollups


RollupsDep = Annotated[Rollups, Depends(_rollups)]


async def building_zone(db: Database, building: str) -> ZoneInfo:
    """The building's time zone, or 404."""

    def read() -> ZoneInfo:
        with db.session(commit=False) as session:
            return building_tz(session, building)[1]

    return await run_in_threadpool(read)


def csv_response(text: str, filename: str) -> Response:
    """A CSV download."""
    disposition = f'attachment; filename="{filename}"'
    return Response(text, media_type="text/csv", headers={"Content-Disposition": disposition})


@router.get("/energy/summary", response_model=EnergySummary)
async def energy_summary(
    _: Manager,
    db: DatabaseDep,
    settings: SettingsDep,
    rollups: RollupsDep,
    building: str,
    start: Annotated[datetime, Query(description="ISO time; the building's zone if no offset")],
    end: Annotated[datetime, Query(description="ISO time, exclusive")],
    every: Every = "1d",
    by: Annotated[By, Query(description="One row per period and floor, zone or circuit")] = (
        "building"
    ),
    floor: PlaceParam = None,
    zone: PlaceParam = None,
    format: Format = "json",  # noqa: A002  (the query parameter's name)
) -> EnergySummary | Response:
    """Energy (kWh) per circuit, zone, floor or building per hour, day or month, JSON or CSV.

    With the share used outside working hours, kWh per occupied and per booked desk-hour,
    the part estimated across counter resets, meter coverage, and power now. The desk-hours
    of a group of fewer desks than the privacy minimum are withheld (``desk_use_withheld``).
    """
    tz = await building_zone(db, building)
    scope = Scope(
        building=building,
        start=aware(start, tz),
        end=aware(end, tz),
        every=every,
        by=by,
        floor=floor,
        zone=zone,
    )
    summary = await summarise(
        scope=scope,
        db=db,
        rollups=rollups,
        now_ms=rollups.now_ms(),
        min_group=settings.privacy_min_group,
    )
    if format == "csv":
        name = f"energy-{building}-{by}-{every}-{summary.start.date()}-{summary.end.date()}.csv"
        return csv_response(as_csv(summary), name)
    return summary


@router.get("/reports/meetings", response_model=MeetingsReport, tags=["reports"])
async def meetings_report(
    reader: Reporter,
    db: DatabaseDep,
    request: Request,
    building: str,
    start: Moment,
    end: Moment,
    format: Format = "json",  # noqa: A002  (the query parameter's name)
) -> MeetingsReport | Response:
    """Each meeting room: bookings against its people counter, as JSON or CSV.

    Measured bookings (the counter reported), ghosts (it counted nobody), solo bookings,
    the peak of people on average and against the seats. Counts, never who; an agency's
    roles see their floors' rooms and the shared ones.
    """
    tz = await building_zone(db, building)
    found = await meetings(
        db,
        services(request).store,
        building=building,
        start=aware(start, tz),
        end=aware(end, tz),
        actor=reader,
    )
    if format == "csv":
        name = f"meetings-{building}-{found.start.date()}-{found.end.date()}.csv"
        return csv_response(meetings_csv(found), name)
    return found


@router.get("/energy/split", response_model=EnergySplit)
async def energy_split(
    reader: Reporter,
    db: DatabaseDep,
    rollups: RollupsDep,
    building: str,
    month: MonthParam,
    key: SplitKey = "area",
    format: Format = "json",  # noqa: A002  (the query parameter's name)
) -> EnergySplit | Response:
    """The building's energy of a month shared among its agencies by ``key``, as JSON or CSV.

    ``area`` (floor area), ``desk_hours`` (occupied desk-hours on each agency's floors) or
    ``metered`` (each agency's floors' meters, the rest by area). The parts add up to the
    total exactly, in whole Wh. An agency's own roles get their agency's row; 409 when no
    floor of the building is an agency's, or the key has nothing to weigh.
    """
    if month is None:
        raise QueryError(T("say which month (month=YYYY-MM)"))
    found = await split(db, rollups, building=building, month=month, key=key, actor=reader)
    if format == "csv":
        return csv_response(split_csv(found), f"energy-split-{building}-{found.month}-{key}.csv")
    return found


@router.get("/reports/occupancy", response_model=OccupancyReport, tags=["reports"])
async def occupancy_report(
    reader: Reporter,
    db: DatabaseDep,
    settings: SettingsDep,
    rollups: RollupsDep,
    building: str,
    start: Moment,
    end: Moment,
    by: OccupancyBy = "floor",
    target: Annotated[float, Query(gt=0, le=1, description="Target share of desks")] = 0.7,
    floor: PlaceParam = None,
    zone: PlaceParam = None,
    format: Format = "json",  # noqa: A002  (the query parameter's name)
) -> OccupancyReport | Response:
    """Occupancy from the desks' sensors: hour-by-weekday heatmaps, peak, average, busiest days.

    Per building, floor or zone, in working hours, with the hours under, at (within 5
    points) and over a target share of desks. Aggregates only, never a person or a desk:
    groups of fewer desks than the privacy minimum are withheld (``withheld``). An agency's
    manager reads their agency's floors.
    """
    tz = await building_zone(db, building)
    first, last = hour_range(Scope(building=building, start=aware(start, tz), end=aware(end, tz)))
    asked = OccupancyQuery(
        building, first, last, by, target, settings.privacy_min_group, floor, zone
    )
    rep = await occupancy(db, rollups, asked, reader)
    if format == "csv":
        name = f"occupancy-{building}-{by}-{rep.start.date()}-{rep.end.date()}.csv"
        return csv_response(occupancy_csv(rep), name)
    return rep


@router.get("/energy/actions", response_model=ZoneActionsOut)
async def energy_actions(
    _: Manager,
    db: DatabaseDep,
    settings: SettingsDep,
    building: str,
    floor: PlaceParam = None,
    zone: PlaceParam = None,
    since: Annotated[
        datetime | None, Query(description="Also list the decisions in force since then")
    ] = None,
) -> ZoneActionsOut:
    """Each zone's HVAC and lighting mode now, with its reason (and history on request)."""
    tz = await building_zone(db, building)

    def read() -> ZoneActionsOut:
        with db.session(commit=False) as s:
            since_ms = to_ms(aware(since, tz)) if since is not None else None
            current, past = recorded_actions(
                s, building=building, floor=floor, zone=zone, since_ms=since_ms
            )
            ctx = {"tz": tz}
            return ZoneActionsOut(
                actions_mode=settings.energy_actions,
                current=[ZoneActionOut.model_validate(a, context=ctx) for a in current],
                history=[ZoneActionOut.model_validate(a, context=ctx) for a in past],
            )

    return await run_in_threadpool(read)


@router.get("/comfort/rooms", response_model=ComfortReport)
async def comfort_rooms(
    _: Manager,
    db: DatabaseDep,
    rollups: RollupsDep,
    building: str,
    start: Moment,
    end: Moment,
    by: RoomBy = "room",
    floor: PlaceParam = None,
    zone: PlaceParam = None,
    format: Format = "json",  # noqa: A002  (the query parameter's name)
) -> ComfortReport | Response:
    """CO2, temperature and humidity per room or zone: means, extremes, time out of band."""
    tz = await building_zone(db, building)
    scope = Scope(building=building, start=aware(start, tz), end=aware(end, tz))
    first, last = hour_range(scope)
    view = await HourlyView.open(rollups, building, first, last)
    rep = await report(
        view,
        where=SpaceFilter(building=building, floor=floor, zone=zone),
        by=by,
        bands=rollups.cfg.bands,
        tz=tz,
    )
    if format == "csv":
        return csv_response(report_csv(rep), f"comfort-{building}-{by}.csv")
    return rep


@router.get("/comfort/alerts")
async def comfort_alerts(
    _: Manager,
    db: DatabaseDep,
    building: str,
    active: Annotated[bool, Query(description="Only alerts still open")] = True,
    since: Moment | None = None,
) -> list[ComfortAlertOut]:
    """Rooms whose CO2 stayed above the alert level while occupied: open, or since a time."""
    tz = await building_zone(db, building)

    def read() -> list[ComfortAlertOut]:
        with db.session(commit=False) as s:
            since_ms = to_ms(aware(since, tz)) if since is not None else None
            rows = recorded_alerts(s, building=building, active=active, since_ms=since_ms)
            return [ComfortAlertOut.model_validate(a, context={"tz": tz}) for a in rows]

    return await run_in_threadpool(read)


@router.get("/energy/savings", response_model=SavingsEstimate)
async def energy_savings(
    _: Manager,
    db: DatabaseDep,
    rollups: RollupsDep,
    building: str,
    start: Moment,
    end: Moment,
    baseline_days: Annotated[int, Query(ge=7, le=365)] = 28,
    circuits: Annotated[str, Query(description="Comma-separated: hvac, lighting")] = (
        "hvac,lighting"
    ),
) -> SavingsEstimate:
    """Energy saved in zones set back by the platform, against comparable hours.

    With its method and a 95 % interval (a lower bound on the uncertainty).
    """
    tz = await building_zone(db, building)
    chosen = tuple(c.strip() for c in circuits.split(",") if c.strip())
    unknown = [c for c in chosen if c not in ACTED_CIRCUITS]
    if not chosen or unknown:
        raise QueryError(f"circuits: {', '.join(unknown) or 'none'}; use hvac and/or lighting")
    first, last = hour_range(Scope(building=building, start=aware(start, tz), end=aware(end, tz)))
    return await estimate(db, rollups, SavingsQuery(building, first, last, baseline_days, chosen))


@router.get("/energy/consolidation", response_model=Consolidation)
async def energy_consolidation(
    _: Manager, db: DatabaseDep, rollups: RollupsDep, building: str, day: Day
) -> Consolidation:
    """A day's desk bookings per floor, and which floors could be emptied and set back.

    For a day to come, the people whose work plan says office without a booking count too.
    """
    tz = await building_zone(db, building)

    def planned() -> dict[str, float]:
        with db.session(commit=False) as s:
            return planned_by_floor(s, building, day)

    ahead = await run_in_threadpool(planned) if day >= today_in(tz) else None
    return await consolidate(db, rollups, building=building, day=day, planned=ahead)


@router.get("/availability/suggestions", response_model=list[RankedDesk], tags=["bookings"])
async def desk_suggestions(
    user: Anyone,
    db: DatabaseDep,
    building: str,
    start: Moment,
    end: Moment,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    monitor: bool | None = None,
    standing: bool | None = None,
    accessible: bool | None = None,
    quiet: bool | None = None,
) -> list[RankedDesk]:
    """Free desks of the building for a slot, those in zones already in use first.

    Choosing them lets empty zones and floors stay set back. Times without an offset are
    the building's local time.
    """
    tz = await building_zone(db, building)

    wanted = DeskFilter(None, monitor, standing, accessible, quiet)

    def read() -> list[RankedDesk]:
        with db.session(commit=False) as s:
            return ranked_desks(
                s,
                actor=user,
                building=building,
                start=aware(start, tz),
                end=aware(end, tz),
                limit=limit,
                desks=wanted,
            )

    return await run_in_threadpool(read)
