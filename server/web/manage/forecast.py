"""Expected attendance: the next two weeks per floor and zone, and how good it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.api.deps import DatabaseDep, SettingsDep, services
from server.calendar.dates import today_in
from server.plans import forecast as forecasting
from server.web.browser import ReporterPage
from server.web.manage.common import show, where_of

router = APIRouter(include_in_schema=False)
DAYS = 14
LOOK_BACK = 14


@router.get("/app/manage/forecast")
async def forecast_page(
    request: Request,
    person: ReporterPage,
    db: DatabaseDep,
    settings: SettingsDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Who is expected per floor and zone for two weeks; the past two weeks' accuracy."""
    where = await run_in_threadpool(where_of, db, building, person.user)
    b = where.building
    today = today_in(where.tz)

    def read() -> tuple[list[Any], set[str] | None]:
        with db.session(commit=False) as session:
            days = forecasting.read(
                session,
                actor=person.user,
                building=b.id,
                first=today,
                days=DAYS,
                min_group=settings.privacy_min_group,
            )
            return days, forecasting.floors_for(session, person.user, b.id)

    days, floors = await run_in_threadpool(read)
    measured = await forecasting.accuracy(
        db,
        services(request).rollups,
        building=b.id,
        first=today - timedelta(days=LOOK_BACK),
        last=today - timedelta(days=1),
        floors=floors,
    )
    return show(
        request,
        person,
        "manage/forecast.html",
        where,
        days=days,
        measured=measured,
        min_group=settings.privacy_min_group,
        floor_codes=sorted({f.floor for d in days for f in d.floors}),
    )
