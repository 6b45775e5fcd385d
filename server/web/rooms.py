"""Meeting rooms: the rooms that seat a group for a slot, and booking one."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.api.deps import DatabaseDep
from server.bookings import service as bookings
from server.bookings.rooms import rooms as rooms_for
from server.bookings.schemas import BookingCreate
from server.calendar.dates import Day, Moment
from server.calendar.hours import building_tz, opening
from server.calendar.policy import policy_for
from server.clock import now_utc
from server.exceptions import NotFoundError
from server.i18n import N_, gettext
from server.spaces.service import buildings as list_buildings
from server.web import notices
from server.web.browser import Person, PersonForm
from server.web.desks import asked_slot
from server.web.render import page_language, render
from server.web.words import translated

router = APIRouter(include_in_schema=False)

ROOM_STATES = {
    "free": N_("Free"),
    "yours": N_("Yours"),
    "booked": N_("Booked"),
    "closed": N_("Closed"),
    "not_bookable": N_("Not bookable"),
}
ROOM_ICONS = {"free": "○", "yours": "★", "booked": "■", "closed": "–", "not_bookable": "·"}


def _next_hour(day: date, now: datetime) -> tuple[str, str]:
    """The hour a meeting would most likely be booked for: the next half hour today."""
    if day != now.date() or now.hour >= 22:
        return "09:00", "10:00"
    begin = (now + timedelta(minutes=30 - now.minute % 30)).replace(second=0, microsecond=0)
    return begin.strftime("%H:%M"), (begin + timedelta(hours=1)).strftime("%H:%M")


@router.get("/app/rooms")
async def rooms_page(
    request: Request,
    person: Person,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    day: Day | None = None,
    start: Annotated[str | None, Query(alias="from", max_length=5)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=5)] = None,
    capacity: Annotated[int, Query(ge=1, le=1000)] = 4,
) -> Response:
    """Meeting rooms for a slot, by how many people they seat; book one."""
    lang = page_language(request, person.user)

    def read() -> tuple[list[Any], Any, date, date, datetime, datetime, list[Any]]:
        with db.session(commit=False) as session:
            all_buildings = list_buildings(session)
            if not all_buildings:
                raise NotFoundError(N_("no building is set up yet"))
            b = next((x for x in all_buildings if x.id == building), all_buildings[0])
            _, tz = building_tz(session, b.id)
            now = now_utc().astimezone(tz)
            when = day if day is not None and day >= now.date() else now.date()
            hours = opening(policy_for(session, b.id, None, person.user.agency), when, tz)
            first, last = (start, end) if start and end else _next_hour(when, now)
            s, e = asked_slot(when, "time", first, last, hours)
            found = rooms_for(
                session,
                actor=person.user,
                building=b.id,
                start=s,
                end=e,
                capacity=capacity,
                lang=lang,
            )
            return all_buildings, b, when, now.date(), s, e, found

    all_buildings, b, when, today, s, e, found = await run_in_threadpool(read)
    return render(
        request,
        "rooms.html",
        user=person.user,
        csrf=person.csrf,
        buildings=all_buildings,
        building=b,
        tzname=e.tzname(),
        day=when,
        today=today,
        start_time=s.strftime("%H:%M"),
        end_time=e.strftime("%H:%M"),
        capacity=capacity,
        rooms=found,
        start=s.isoformat(),
        end=e.isoformat(),
        span=f"{s:%H:%M}–{e:%H:%M} {e.tzname()}",
        states=translated(lang, ROOM_STATES),
        icons=ROOM_ICONS,
    )


@router.post("/app/rooms/book")
async def book_room(
    request: Request,
    person: PersonForm,
    db: DatabaseDep,
    building: Annotated[str, Form(max_length=32)],
    room: Annotated[str, Form(max_length=32)],
    start: Annotated[Moment, Form()],
    end: Annotated[Moment, Form()],
    capacity: Annotated[int, Form(ge=1, le=1000)] = 1,
) -> Response:
    """Book a meeting room for the slot the list was made for (the same service as the API)."""
    lang = page_language(request, person.user)
    new = BookingCreate(building=building, room=room, start=start, end=end)

    def act() -> datetime:
        with db.session() as session:
            made = bookings.create(session, actor=person.user, new=new, language=lang)
            return made.created[0].start

    local = await run_in_threadpool(act)
    query = urlencode(
        {
            "building": building,
            "day": local.date().isoformat(),
            "from": f"{local:%H:%M}",
            "to": f"{end.astimezone(local.tzinfo):%H:%M}",
            "capacity": capacity,
        }
    )
    said = gettext(lang, "Booked: room {room}. It is yours.").format(room=room)
    return notices.redirect(request, f"/app/rooms?{query}", said)
