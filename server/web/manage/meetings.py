"""The meeting rooms' use: people counted against capacity and booking, ghost bookings."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from server.api.deps import DatabaseDep, services
from server.calendar.dates import FormDay
from server.energy.meetings import MeetingsReport, meetings
from server.web.browser import ReporterPage
from server.web.manage.common import report_for, show

router = APIRouter(include_in_schema=False)


@router.get("/app/manage/meetings")
async def meetings_page(
    request: Request,
    person: ReporterPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    start: FormDay = None,
    end: FormDay = None,
) -> Response:
    """Each meeting room: bookings, ghosts, people at the peak against its capacity."""
    where, (first, last, s, e) = await report_for(db, person.user, building, start, end, 28)
    b = where.building
    rep: MeetingsReport = await meetings(
        db, services(request).store, building=b.id, start=s, end=e, actor=person.user
    )
    floors = {f.id: f.name for f in b.floors}
    q = {"building": b.id, "start": s.isoformat(), "end": e.isoformat()}
    return show(
        request,
        person,
        "manage/meetings.html",
        where,
        report=rep,
        floors=floors,
        first=first,
        last=last,
        csv="/api/v1/reports/meetings?" + urlencode({**q, "format": "csv"}),
    )
