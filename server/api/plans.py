"""Work plans: where you work each day, your unit's week, and an agency's expected days."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from server.api.deps import (
    Anyone,
    DatabaseDep,
    Language,
    PeopleAdmin,
    Reporter,
    ServicesDep,
    SettingsDep,
)
from server.calendar.dates import Day
from server.plans import follow as following
from server.plans import forecast as forecasting
from server.plans import service, units
from server.plans.forecast import Accuracy, ForecastDay
from server.plans.schemas import (
    Attendance,
    DayDoc,
    PlanPublic,
    TeamWeek,
    UnitDoc,
    UnitPublic,
    WeekDoc,
)

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])

AgencyCode = Annotated[str, Path(max_length=32, description="The agency's code.")]
UnitName = Annotated[str, Path(max_length=100, description="The unit's name.")]
Days = Annotated[int, Query(ge=1, le=service.MAX_DAYS, description="How many days.")]


@router.get("/me", response_model=PlanPublic)
def my_plan(
    user: Anyone, db: DatabaseDep, lang: Language, start: Day | None = None, days: Days = 14
) -> PlanPublic:
    """Your plan: the usual week, each day from ``start`` (today), and what misses the rules."""
    with db.session(commit=False) as session:
        return service.plan(session, actor=user, start=start, count=days, language=lang)


@router.put("/me/week", response_model=PlanPublic)
def set_my_week(doc: WeekDoc, user: Anyone, db: DatabaseDep, lang: Language) -> PlanPublic:
    """Set your usual week; office days get a desk ``book_ahead_days`` ahead.

    Days planned away from the office release the desks the plan booked for them.
    """
    with db.session() as session:
        service.set_week(session, actor=user, doc=doc)
        following.follow(session, user=service.user_row(session, user.username))
        session.flush()
        return service.plan(session, actor=user, language=lang)


@router.put("/me/days/{day}", response_model=PlanPublic)
def set_my_day(day: Day, doc: DayDoc, user: Anyone, db: DatabaseDep, lang: Language) -> PlanPublic:
    """Plan one day otherwise (``place`` null: as the week says again).

    Planned at the office, it gets a desk (within your booking days); planned elsewhere, the
    desk the plan booked is released.
    """
    with db.session() as session:
        service.set_day(session, actor=user, day=day, doc=doc)
        following.follow(session, user=service.user_row(session, user.username), days=[day])
        session.flush()
        return service.plan(session, actor=user, start=day, count=7, language=lang)


@router.get("/team", response_model=TeamWeek)
def team_week(
    user: Anyone,
    db: DatabaseDep,
    unit: Annotated[str | None, Query(max_length=100)] = None,
    start: Day | None = None,
    days: Days = 7,
) -> TeamWeek:
    """Your unit's week, by day.

    To the unit's head, everyone's place (each read recorded); to a colleague, the office
    days of those who opted in to the colleague finder.
    """
    with db.session() as session:
        return service.team_week(session, actor=user, unit=unit, start=start, count=days)


@router.get("/attendance", response_model=Attendance)
def attendance(
    user: Reporter,
    db: DatabaseDep,
    settings: SettingsDep,
    agency: Annotated[str, Query(max_length=32)],
    start: Day | None = None,
    days: Days = 14,
) -> Attendance:
    """An agency's people by planned place and day; groups under the minimum withheld."""
    with db.session(commit=False) as session:
        found = service.attendance(
            session,
            actor=user,
            agency=agency,
            start=start,
            count=days,
            min_group=settings.privacy_min_group,
        )
        return Attendance(agency=agency, min_group=settings.privacy_min_group, days=found)


@router.get("/units/{code}", response_model=list[UnitPublic])
def list_units(code: AgencyCode, _: Anyone, db: DatabaseDep) -> list[UnitPublic]:
    """An agency's units with their heads and team days."""
    with db.session(commit=False) as session:
        return units.units(session, code)


@router.put("/units/{code}/{unit}", response_model=UnitPublic)
def set_unit(
    code: AgencyCode, unit: UnitName, doc: UnitDoc, admin: PeopleAdmin, db: DatabaseDep
) -> UnitPublic:
    """Set a unit's head (atasan), who sees its week, and its team days."""
    with db.session() as session:
        return units.set_unit(
            session, actor=admin.username, agency=code, name=unit, doc=doc, scope=admin.scope
        )


@router.get("/forecast", response_model=list[ForecastDay])
def forecast(
    user: Reporter,
    db: DatabaseDep,
    settings: SettingsDep,
    building: Annotated[str, Query(max_length=32)],
    start: Day | None = None,
    days: Days = 14,
) -> list[ForecastDay]:
    """Expected attendance per floor and zone for each day, from bookings and work plans.

    People counted, never named; groups under the minimum size withheld. An agency's
    manager reads their floors only.
    """
    with db.session(commit=False) as session:
        return forecasting.read(
            session,
            actor=user,
            building=building,
            first=start,
            days=days,
            min_group=settings.privacy_min_group,
        )


@router.get("/forecast/accuracy", response_model=Accuracy)
async def forecast_accuracy(
    user: Reporter,
    db: DatabaseDep,
    services: ServicesDep,
    building: Annotated[str, Query(max_length=32)],
    start: Day,
    end: Day,
) -> Accuracy:
    """The forecasts kept the day before, against the desks' sensors, per floor and day.

    ``mean_absolute_error``: how many people the forecast was off by, on average.
    """

    def floors() -> set[str] | None:
        with db.session(commit=False) as session:
            return forecasting.floors_for(session, user, building)

    return await forecasting.accuracy(
        db,
        services.rollups,
        building=building,
        first=start,
        last=end,
        floors=await run_in_threadpool(floors),
    )
