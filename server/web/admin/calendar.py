"""Closed days (a building's own and national ones) and desks blocked for a while."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from server.api.deps import DatabaseDep
from server.bookings.blocks import block_desk, end_block
from server.bookings.blocks import blocks as desk_blocks
from server.bookings.schemas import DeskBlockDoc
from server.calendar import admin as calendar
from server.calendar.dates import Day
from server.calendar.schemas import ClosedDayDoc
from server.clock import now_utc
from server.exceptions import ServerError
from server.spaces.service import buildings as list_buildings
from server.web.admin.common import Answer, Said, back, fault, run, show
from server.web.browser import AdminForm, AdminPage
from server.web.render import page_language

router = APIRouter(include_in_schema=False)


@router.get("/app/admin/calendar")
async def calendar_page(
    request: Request,
    person: AdminPage,
    db: DatabaseDep,
    answer: Said,
    building: Annotated[str | None, Query(max_length=32)] = None,
    year: Annotated[int | None, Query(ge=2020, le=2099)] = None,
) -> Response:
    """Holidays and closed days of a year; desks blocked now or later."""

    def read() -> tuple[list[Any], Any, list[Any], list[Any], date]:
        with db.session(commit=False) as session:
            found = list_buildings(session)
            b = next((x for x in found if x.id == building), found[0])
            today = now_utc().astimezone(ZoneInfo(b.timezone)).date()
            nonlocal year
            year = year or today.year
            days = calendar.closed_days(session, year=year, building=b.id)
            blocks = [
                (
                    {"id": x.id, "reason": x.reason, "created_by": x.created_by},
                    x.desk,
                    x.start,
                    x.end,
                )
                for x in desk_blocks(session, building=b.id)
            ]
            return found, b, days, blocks, today

    found, b, days, blocks, today = await run(read)
    return show(
        request,
        person,
        "admin/calendar.html",
        buildings=found,
        building=b,
        days=days,
        blocks=blocks,
        year=year,
        today=today,
        status=answer.status,
        notice=answer.notice,
        notice_kind=answer.kind,
    )


@router.post("/app/admin/closed-days")
async def close_day(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    day: Annotated[Day, Form()],
    reason: Annotated[str, Form(max_length=200)],
    building: Annotated[str, Form(max_length=32)] = "",
    everywhere: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Close a day in this building (or all) for bookings."""
    lang = page_language(request, person.user)
    try:
        doc = ClosedDayDoc(day=day, reason=reason, building=None if everywhere else building)

        def save() -> None:
            with db.session() as session:
                calendar.close_day(session, actor=person.user.username, doc=doc)

        await run(save)
    except (ValidationError, ServerError) as exc:
        return await calendar_page(
            request,
            person,
            db,
            building=building,
            year=day.year,
            answer=Answer(fault(lang, exc), "error", 400),
        )
    where = urlencode({"building": building, "year": day.year})
    return back(request, person, f"/app/admin/calendar?{where}", "day_closed", day.isoformat())


@router.post("/app/admin/blocks")
async def new_block(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    building: Annotated[str, Form(max_length=32)],
    desk: Annotated[str, Form(max_length=32)],
    start: Annotated[Day, Form()],
    end: Annotated[Day, Form()],
    reason: Annotated[str, Form(max_length=200)],
) -> Response:
    """Block a desk from the first day to the last (whole days)."""
    lang = page_language(request, person.user)
    try:
        doc = DeskBlockDoc.model_validate(
            {
                # Whole days, from the first's midnight to the one after the last (a day
                # is midnight in the building's zone, as the service reads it).
                "start": start,
                "end": end + timedelta(days=1),
                "reason": reason,
            }
        )

        def save() -> None:
            with db.session() as session:
                block_desk(
                    session, actor=person.user.username, building=building, desk=desk, doc=doc
                )

        await run(save)
    except (ValidationError, ServerError) as exc:
        return await calendar_page(
            request, person, db, building=building, answer=Answer(fault(lang, exc), "error", 400)
        )
    where = urlencode({"building": building})
    return back(request, person, f"/app/admin/calendar?{where}", "desk_blocked", desk)


@router.post("/app/admin/blocks/{block_id}/end")
async def stop_block(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    block_id: int,
    building: Annotated[str, Form(max_length=32)],
) -> Response:
    """End a desk's block now: it can be booked again."""

    def save() -> str:
        with db.session() as session:
            return end_block(session, actor=person.user.username, block_id=block_id)

    desk = await run(save)
    where = urlencode({"building": building})
    return back(request, person, f"/app/admin/calendar?{where}", "block_ended", desk)
