"""The shared energy bill: the building's energy of a month, each agency's part by a key."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from server.api.deps import DatabaseDep, MonthParam
from server.api.errors import status_of
from server.calendar.dates import today_in
from server.energy.split import KEYS, SplitKey, split
from server.exceptions import ConflictError
from server.i18n import N_, gettext, say
from server.web.browser import ReporterPage
from server.web.manage.common import rollups_of, show, where_of
from server.web.render import page_language

router = APIRouter(include_in_schema=False)

KEY_NAMES = {
    "area": N_("Floor area"),
    "desk_hours": N_("Occupied desk-hours"),
    "metered": N_("Metered floors, the rest by area"),
}
BASIS_UNITS = {"area": "m²", "desk_hours": N_("desk-hours"), "metered": "m²"}


@router.get("/app/manage/split")
async def split_page(
    request: Request,
    person: ReporterPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    month: MonthParam = None,
    key: SplitKey = "area",
) -> Response:
    """Each agency's part of the building's energy in a month (the last whole one at first)."""
    lang = page_language(request, person.user)
    where = await run_in_threadpool(where_of, db, building, person.user)
    b = where.building
    chosen = month or (today_in(where.tz).replace(day=1) - timedelta(days=1)).replace(day=1)
    problem, report = None, None
    try:
        report = await split(
            db, rollups_of(request), building=b.id, month=chosen, key=key, actor=person.user
        )
    except ConflictError as exc:
        problem = exc
    q = {"building": b.id, "month": f"{chosen:%Y-%m}", "key": key}
    return show(
        request,
        person,
        "manage/split.html",
        where,
        report=report,
        month=chosen,
        key=key,
        keys=[(k, gettext(lang, KEY_NAMES[k])) for k in KEYS],
        unit=gettext(lang, BASIS_UNITS[key]),
        notice=say(problem.args[0], lang) if problem else None,
        notice_kind="error",
        status=status_of(problem) if problem else 200,
        csv="/api/v1/energy/split?" + urlencode({**q, "format": "csv"}),
    )
