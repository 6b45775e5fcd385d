"""Desks: find one on the floor plan and book it, and check in with the desk's QR code.

The plan's script (``static/plan.js``) calls the JSON API itself with the session cookie
and the page's CSRF token, and follows the live event stream; this page gives it the
building, floor, slot and its words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.api.deps import DatabaseDep
from server.bookings import checkin as checking
from server.bookings.schemas import BookingPublic
from server.calendar.dates import Day, today_in
from server.calendar.hours import building_tz, opening
from server.calendar.policy import policy_for
from server.clock import now_utc
from server.exceptions import NotFoundError, Refusal
from server.i18n import N_, gettext, say
from server.spaces.schemas import BuildingPublic
from server.spaces.service import building as building_public
from server.spaces.service import buildings as list_buildings
from server.spaces.service import desk_floor, floor_map
from server.web.browser import Person, PersonForm
from server.web.render import page_language, render, script_json
from server.web.words import translated

router = APIRouter(include_in_schema=False)

FEATURES = (
    ("monitor", N_("Monitor")),
    ("standing", N_("Standing desk")),
    ("accessible", N_("Accessible")),
    ("quiet", N_("Quiet")),
)
LEGEND = (
    ("free", N_("Free")),
    ("yours", N_("Yours")),
    ("booked", N_("Booked")),
    ("occupied", N_("Occupied now")),
    ("blocked", N_("Blocked")),
    ("closed", N_("Closed")),
    ("team_zone", N_("Team zone")),
    ("not_bookable", N_("Not bookable")),
)
# The plan script's own words.
PLAN_MESSAGES = {
    **{f"state_{k}": v for k, v in LEGEND},
    **{f"feature_{k}": v for k, v in FEATURES},
    "desk": N_("Desk"),
    "zone": N_("Zone"),
    "book": N_("Book this desk"),
    "booked_ok": N_("Booked: desk {desk}, {span}. It is yours."),
    "series_ok": N_("Booked {n} dates; {failed} could not be booked."),
    "failed_day": N_("{day}: {reason}"),
    "live_on": N_("Live: the plan follows bookings and sensors."),
    "live_off": N_("Live updates paused; reconnecting…"),
    "none": N_("No desk matches."),
    "list_caption": N_("Desks, their state for the chosen time, and what they offer"),
    "col_desk": N_("Desk"),
    "col_state": N_("State"),
    "col_features": N_("Features"),
    "col_action": N_("Action"),
    "no_features": N_("none"),
    "reason": N_("Why: {reason}"),
    "error": N_("Something went wrong: {detail}"),
}


def asked_slot(
    day: date, slot: str, start: str, end: str, hours: tuple[datetime, datetime]
) -> tuple[datetime, datetime]:
    """The asked slot; the whole day is the building's opening hours that day."""
    try:
        t0, t1 = time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        slot = "day"
    if slot == "day" or t1 <= t0:
        return hours
    tz = hours[0].tzinfo
    return datetime.combine(day, t0, tz), datetime.combine(day, t1, tz)


@router.get("/app/find")
async def find(
    request: Request,
    person: Person,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    floor: Annotated[str | None, Query(max_length=32)] = None,
    day: Day | None = None,
    slot: Annotated[str, Query(pattern="^(day|time)$")] = "day",
    start: Annotated[str, Query(alias="from", max_length=5)] = "08:00",
    end: Annotated[str, Query(alias="to", max_length=5)] = "17:00",
    zone: Annotated[str | None, Query(max_length=32)] = None,
    monitor: bool = False,
    standing: bool = False,
    accessible: bool = False,
    quiet: bool = False,
) -> Response:
    """The floor plan with every desk's state for a slot, and the same desks as a list."""
    user = person.user
    lang = page_language(request, user)

    def read() -> tuple[list[Any], Any, Any, date, tuple[datetime, datetime]]:
        with db.session(commit=False) as session:
            all_buildings = list_buildings(session)
            if not all_buildings:
                raise NotFoundError(N_("no building is set up yet"))
            b = next((x for x in all_buildings if x.id == building), all_buildings[0])
            f_id = next((f.id for f in b.floors if f.id == floor), b.floors[0].id)
            _, tz = building_tz(session, b.id)
            today = today_in(tz)
            when = day if day is not None and day >= today else today
            hours = opening(policy_for(session, b.id, None, person.user.agency), when, tz)
            return all_buildings, b, floor_map(session, b.id, f_id), when, hours

    all_buildings, b, fmap, when, hours = await run_in_threadpool(read)
    start_at, end_at = asked_slot(when, slot, start, end, hours)
    t0, t1 = start_at.strftime("%H:%M"), end_at.strftime("%H:%M")
    asked = (("monitor", monitor), ("standing", standing), ("accessible", accessible))
    wanted = {k for k, v in (*asked, ("quiet", quiet)) if v}
    config = {
        "building": b.id,
        "floor": fmap.id,
        "day": when.isoformat(),
        "whole_day": slot == "day",
        "start": start_at.isoformat(),
        "end": end_at.isoformat(),
        "now_in_slot": start_at <= now_utc() < end_at,  # "occupied now" only means then
        "zone": zone or None,
        "features": sorted(wanted),
        "tzname": end_at.tzname(),
        "messages": translated(lang, PLAN_MESSAGES),
        "lang": lang,
    }
    span = gettext(lang, "the whole day") if slot == "day" else f"{t0}–{t1} {end_at.tzname()}"
    return render(
        request,
        "find.html",
        user=user,
        csrf=person.csrf,
        buildings=all_buildings,
        building=b,
        tzname=end_at.tzname(),
        floor=fmap.id,
        day=when,
        today=today_in(ZoneInfo(b.timezone)),
        slot=slot,
        start_time=t0,
        end_time=t1,
        zones=[z for z in fmap.zones if z.kind in ("neighbourhood", "team")] or fmap.zones,
        zone=zone,
        wanted=wanted,
        features=[(k, gettext(lang, v)) for k, v in FEATURES],
        legend=[(k, gettext(lang, v)) for k, v in LEGEND],
        slot_label=gettext(lang, "for {day}, {span}").format(day=when.isoformat(), span=span),
        config=script_json(config),
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the check-in page says after the tap."""

    kind: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class DeskPage:
    """A desk as its QR page shows it, and whether it was opened from the desk's label."""

    building: BuildingPublic
    desk: Any
    floor_name: str
    mine: BookingPublic | None
    scanned: bool


def _desk_page(db: DatabaseDep, person: Any, building: str, desk: str, key: str | None) -> DeskPage:
    with db.session(commit=False) as session:
        b = building_public(session, building)
        floor = desk_floor(session, building, desk)
        facts = next(d for d in floor_map(session, building, floor.code).desks if d.id == desk)
        mine = checking.checkin_booking(session, actor=person.user, building=building, desk=desk)
        scanned = checking.desk_key_ok(session, building=building, desk=desk, key=key)
        return DeskPage(b, facts, floor.name, mine, scanned)


async def _desk_or_problem(
    db: DatabaseDep, person: Any, building: str, desk: str, key: str | None
) -> DeskPage:
    try:
        return await run_in_threadpool(_desk_page, db, person, building, desk, key)
    except NotFoundError as exc:
        raise NotFoundError(N_("This QR code names no desk we know.")) from exc


Key = Annotated[str | None, Query(alias="k", max_length=64)]
"""The desk label's secret, in the address its QR code holds."""


def _page(request: Request, person: Any, found: DeskPage, **values: Any) -> Response:
    return render(
        request,
        "checkin.html",
        user=person.user,
        csrf=person.csrf,
        building=found.building,
        desk=found.desk,
        floor_name=found.floor_name,
        mine=found.mine,
        scanned=found.scanned,
        **values,
    )


@router.get("/checkin/{building}/{desk}")
async def checkin_page(
    request: Request, building: str, desk: str, person: Person, db: DatabaseDep, k: Key = None
) -> Response:
    """The page the desk's QR label opens: check in, or walk in where the rules allow."""
    found = await _desk_or_problem(db, person, building, desk, k)
    return _page(request, person, found, outcome=None)


@router.post("/checkin/{building}/{desk}")
async def checkin(
    request: Request, building: str, desk: str, person: PersonForm, db: DatabaseDep, k: Key = None
) -> Response:
    """Check in at this desk: my booking, or a walk-in; says plainly why not."""
    lang = page_language(request, person.user)
    found = await _desk_or_problem(db, person, building, desk, k)

    def act() -> BookingPublic:
        with db.session() as session:
            return checking.desk_check_in(
                session, actor=person.user, building=building, desk=desk, key=k
            )

    try:
        done = await run_in_threadpool(act)
    except Refusal as exc:
        title = {
            "too_early": N_("Too early"),
            "in_the_past": N_("Too late"),
            "conflict": N_("Someone else's desk"),
            "team_zone": N_("Someone else's desk"),
            "qr_key": N_("Scan the desk's QR code"),
        }.get(exc.rule, N_("Not possible"))
        outcome = Outcome("error", gettext(lang, title), say(exc.args[0], lang))
    else:
        until = f"{done.end:%H:%M} {done.end.tzname()}"
        text = (
            gettext(lang, "Walk-in booked until {time}.")
            if found.mine is None
            else gettext(lang, "Your booking runs until {time}.")
        ).format(time=until)
        if done.presence == "pending":
            text += " " + gettext(
                lang, "The desk's sensor confirms that you are here once you sit down."
            )
        outcome = Outcome("ok", gettext(lang, "You are checked in"), text)
    return _page(
        request, person, found, outcome=outcome, status=200 if outcome.kind == "ok" else 409
    )
