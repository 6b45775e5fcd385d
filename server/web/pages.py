"""The employees' pages: sign in, today, find and book a desk, my bookings, QR check-in.

Pages are rendered here from the same services the JSON API calls; the floor plan's
script (``static/plan.js``) calls the JSON API itself with the session cookie and the
page's CSRF token, and follows the live event stream.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from server.api.deps import DatabaseDep, Public, SettingsDep, services
from server.auth import sso as sso_flow
from server.auth.schemas import Preferences
from server.auth.service import (
    LoginLimit,
    authenticate,
    preferences,
    principal,
    set_preferences,
)
from server.auth.sessions import COOKIE, LIFETIME_S, end_session, open_session
from server.bookings import ics
from server.bookings import service as bookings
from server.bookings.rooms import rooms as rooms_for
from server.bookings.schemas import BookingCreate, BookingPublic
from server.calendar.dates import CHECKIN_OPENS_BEFORE_MS, WITA, now_utc, to_ms
from server.calendar.hours import building_tz, opening
from server.calendar.policy import policy_for
from server.exceptions import AuthError, NotFoundError, RateLimited, Refusal
from server.i18n import LANGUAGES, N_, gettext, say
from server.spaces.models import Floor
from server.spaces.schemas import BuildingPublic
from server.spaces.service import building as building_public
from server.spaces.service import buildings as list_buildings
from server.spaces.service import floor_map
from server.web.browser import (
    LOGIN_CSRF_COOKIE,
    Browser,
    Person,
    Visitor,
    form_csrf_ok,
    keep_login_token,
    new_login_token,
    safe_next,
)
from server.web.render import LANG_COOKIE, ROLES, page_language, render, script_json

router = APIRouter(include_in_schema=False)

STATES = {
    "booked": N_("Booked"),
    "checked_in": N_("Checked in"),
    "completed": N_("Done"),
    "released": N_("Released"),
    "cancelled": N_("Cancelled"),
}
OUTCOMES = {
    "attended": N_("Attended"),
    "no_show": N_("No-show: released"),
    "walk_in": N_("Walk-in"),
    "released_early": N_("Left early: released"),
    "cancelled": N_("Cancelled"),
    "released": N_("Released"),
    "completed": N_("Done"),
    "booked": N_("Booked"),
    "checked_in": N_("Checked in"),
}
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


def _tr(lang: str, table: dict[str, str]) -> dict[str, str]:
    return {k: gettext(lang, v) for k, v in table.items()}


@router.get("/", dependencies=[Public])
def home() -> RedirectResponse:
    """The app."""
    return RedirectResponse("/app", status_code=307)


@router.get("/app/login", dependencies=[Public])
async def login_page(request: Request, visitor: Visitor, next: str | None = None) -> Response:
    """The sign-in form (a signed-in visitor goes straight on)."""
    if visitor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next=safe_next(next))


def _login_form(
    request: Request,
    *,
    next: str,
    error: str | None = None,
    username: str | None = None,
    status: int = 200,
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_token()
    response = render(request, "login.html", user=None, status=status, next=next, error=error,
                      username=username, login_csrf=token,
                      sso=services(request).settings.oidc_issuer is not None)  # fmt: skip
    keep_login_token(request, response, token)
    return response


@router.post("/app/login", dependencies=[Public])
async def login(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/app",
) -> Response:
    """Check the password, start a session, go on to ``next``."""
    lang = page_language(request, None)
    target = safe_next(next)
    if not csrf or csrf != request.cookies.get(LOGIN_CSRF_COOKIE):
        error = gettext(lang, "The sign-in form expired. Please try again.")
        return _login_form(request, next=target, error=error, username=username, status=400)
    address = request.client.host if request.client else "unknown"
    name = username.strip().lower()
    try:
        found = await asyncio.to_thread(
            authenticate, db, username=name, password=password, address=address,
            limit=LoginLimit(settings.login_max_failures, settings.login_window_s),
        )  # fmt: skip
    except RateLimited as exc:
        error = gettext(lang, "Too many failed sign-ins. Try again in {s} seconds.").format(
            s=exc.retry_after_s
        )
        return _login_form(request, next=target, error=error, username=name, status=429)
    except AuthError:
        error = gettext(lang, "This account is disabled. Ask an administrator.")
        return _login_form(request, next=target, error=error, username=name, status=403)
    if found is None:
        error = gettext(lang, "Wrong username or password.")
        return _login_form(request, next=target, error=error, username=name, status=401)

    def start() -> str:
        with db.session() as session:
            return open_session(session, username=found[0]).secret

    secret = await asyncio.to_thread(start)
    response = RedirectResponse(target, status_code=303)
    _session_cookie(request, response, secret)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/app/login")
    return response


@router.get("/app/login/sso", dependencies=[Public])
async def sso_begin(request: Request, next: str | None = None) -> Response:
    """To the agency's identity provider (authorization code with PKCE)."""
    sso = services(request).sso
    target = safe_next(next)
    if sso is None:
        return RedirectResponse(f"/app/login?next={target}", status_code=303)
    try:
        url, pending = await sso.begin(target)
    except AuthError:
        lang = page_language(request, None)
        error = gettext(lang, "The agency sign-in cannot be reached now. Try again later, or "
                        "sign in with a password.")  # fmt: skip
        return _login_form(request, next=target, error=error, status=503)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(sso_flow.COOKIE, pending, max_age=sso_flow.LIFETIME_S, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https",
                        path=sso_flow.COOKIE_PATH)  # fmt: skip
    return response


@router.get("/app/login/sso/callback", dependencies=[Public])
async def sso_callback(
    request: Request,
    db: DatabaseDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Back from the identity provider: check its answer, start a session."""
    sso = services(request).sso
    lang = page_language(request, None)
    if sso is None:
        return RedirectResponse("/app/login", status_code=303)
    if error or not code or not state:
        message = gettext(lang, "The agency sign-in was cancelled or refused.")
        return _login_form(request, next="/app", error=message, status=401)
    try:
        claims, target = await sso.finish(
            code=code, state=state, cookie=request.cookies.get(sso_flow.COOKIE)
        )

        def start() -> str:
            with db.session() as session:
                user = principal(session, claims)  # a provider's person is kept up to date
                return open_session(session, username=user.username).secret

        secret = await asyncio.to_thread(start)
    except AuthError as exc:
        message = gettext(lang, "The agency sign-in did not succeed: {reason}").format(
            reason=say(exc.args[0], lang)
        )
        return _login_form(request, next="/app", error=message, status=401)
    response = RedirectResponse(safe_next(target), status_code=303)
    _session_cookie(request, response, secret)
    response.delete_cookie(sso_flow.COOKIE, path=sso_flow.COOKIE_PATH)
    return response


def _session_cookie(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(COOKIE, secret, max_age=LIFETIME_S, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")  # fmt: skip


@router.post("/app/logout", dependencies=[Public])
async def logout(
    request: Request, visitor: Visitor, db: DatabaseDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """End the session (the cookie opens nothing from now on)."""
    if visitor is not None and form_csrf_ok(request, visitor, csrf):

        def end() -> None:
            with db.session() as session:
                end_session(session, visitor.secret)

        await asyncio.to_thread(end)
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/app/language", dependencies=[Public])
async def choose_language(
    request: Request,
    visitor: Visitor,
    db: DatabaseDep,
    language: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/app",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Switch the pages' language: for this browser, and the person's choice if signed in."""
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    if visitor is not None and form_csrf_ok(request, visitor, csrf):

        def keep() -> None:
            with db.session() as session:
                prefs = Preferences.model_validate({"language": language})
                set_preferences(session, username=visitor.user.username, prefs=prefs)

        await asyncio.to_thread(keep)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax",
                        secure=request.url.scheme == "https", path="/")  # fmt: skip
    return response


@dataclass(frozen=True, slots=True)
class TodayBooking:
    """A booking of today with what it means for the person now."""

    booking: BookingPublic
    step: str
    label: str
    icon: str
    next: str
    checkin_url: str | None


def _step(lang: str, b: BookingPublic, now: datetime, grace_min: int) -> TodayBooking:
    """Where today's booking stands and what to do next, in words."""

    def _(message: str) -> str:
        return gettext(lang, message)

    def hm(t: datetime) -> str:
        return t.astimezone(WITA).strftime("%H:%M")

    opens = b.start - timedelta(milliseconds=CHECKIN_OPENS_BEFORE_MS)
    deadline = b.start + timedelta(minutes=grace_min)
    where = f"/checkin/{b.building}/{b.space}" if b.space_kind == "desk" else None
    if b.state == "checked_in":
        since = b.checked_in or b.start
        return TodayBooking(b, "checked_in", _("Checked in"), "✓",
                            _("You are checked in since {time}. Have a good day.").format(
                                time=hm(since)), None)  # fmt: skip
    if b.state == "released":
        return TodayBooking(b, "released", _("Released"), "×",
                            _("Released: nobody checked in in time, so the desk went back to "
                              "others."), None)  # fmt: skip
    if b.state in ("completed", "cancelled"):
        return TodayBooking(b, b.state, _(STATES[b.state]), "–", _("This booking is over."), None)
    if now < opens:
        return TodayBooking(b, "booked", _("Booked"), "○",
                            _("Check-in opens at {time}. Sit down at the desk and its sensor "
                              "checks you in, or scan the QR code on the desk.").format(
                                time=hm(opens)), None)  # fmt: skip
    return TodayBooking(b, "awaiting", _("Awaiting check-in"), "!",
                        _("Sit down at desk {desk} or scan its QR code before {time}; "
                          "otherwise the booking is released for others.").format(
                            desk=b.space, time=hm(deadline)), where)  # fmt: skip


@router.get("/app")
async def today(request: Request, person: Person, db: DatabaseDep) -> Response:
    """My booking today, what to do next, my next bookings, my team today."""
    user = person.user
    lang = page_language(request, user)
    now = now_utc().astimezone(WITA)

    def read() -> tuple[list[TodayBooking], list[BookingPublic], list[dict[str, object]]]:
        with db.session(commit=False) as session:
            mine = [b for b in bookings.bookings(session, actor=user)
                    if b.end > now and b.state not in ("cancelled",)]  # fmt: skip
            todays, later = [], []
            for b in mine:
                local = b.start.astimezone(WITA)
                if local.date() == now.date():
                    policy = policy_for(session, b.building, None)
                    todays.append(_step(lang, b, now, policy.checkin_grace_minutes))
                elif b.state == "booked":
                    later.append(b)
            team = bookings.colleagues(session, actor=user, day=now.date())
            return todays, later[:5], team

    todays, later, team = await asyncio.to_thread(read)
    return render(request, "today.html", user=user, csrf=person.csrf, now=now, today=todays,
                  upcoming=later, colleagues=team)  # fmt: skip


def _slot(
    day: date, slot: str, start: str, end: str, hours: tuple[datetime, datetime]
) -> tuple[datetime, datetime]:
    """The asked slot; the whole day is the building's opening hours that day."""
    try:
        t0, t1 = time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        slot = "day"
    if slot == "day" or t1 <= t0:
        return hours
    return datetime.combine(day, t0, WITA), datetime.combine(day, t1, WITA)


@router.get("/app/find")
async def find(
    request: Request,
    person: Person,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    floor: Annotated[str | None, Query(max_length=32)] = None,
    day: date | None = None,
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
    today_local = now_utc().astimezone(WITA).date()
    day = day if day is not None and day >= today_local else today_local

    def read() -> tuple[list[Any], Any, Any, tuple[datetime, datetime]]:
        with db.session(commit=False) as session:
            all_buildings = list_buildings(session)
            if not all_buildings:
                raise NotFoundError("no building is set up yet")
            b = next((x for x in all_buildings if x.id == building), all_buildings[0])
            f_id = next((f.id for f in b.floors if f.id == floor), b.floors[0].id)
            _, tz = building_tz(session, b.id)
            hours = opening(policy_for(session, b.id, None), day, tz)
            return all_buildings, b, floor_map(session, b.id, f_id), hours

    all_buildings, b, fmap, hours = await asyncio.to_thread(read)
    start_at, end_at = _slot(day, slot, start, end, hours)
    t0, t1 = start_at.strftime("%H:%M"), end_at.strftime("%H:%M")
    wanted = {k for k, v in (("monitor", monitor), ("standing", standing),
                             ("accessible", accessible), ("quiet", quiet)) if v}  # fmt: skip
    config = {
        "building": b.id,
        "floor": fmap.id,
        "day": day.isoformat(),
        "whole_day": slot == "day",
        "start": start_at.isoformat(),
        "end": end_at.isoformat(),
        "now_in_slot": start_at <= now_utc() < end_at,  # "occupied now" only means then
        "zone": zone or None,
        "features": sorted(wanted),
        "messages": _tr(lang, PLAN_MESSAGES),
        "lang": lang,
    }
    span = (gettext(lang, "the whole day") if slot == "day"
            else f"{t0}–{t1} WITA")  # fmt: skip
    return render(
        request, "find.html", user=user, csrf=person.csrf, buildings=all_buildings, building=b,
        floor=fmap.id, day=day, today=today_local, slot=slot, start_time=t0, end_time=t1,
        zones=[z for z in fmap.zones if z.kind in ("neighbourhood", "team")] or fmap.zones,
        zone=zone, wanted=wanted, features=[(k, gettext(lang, v)) for k, v in FEATURES],
        legend=[(k, gettext(lang, v)) for k, v in LEGEND],
        slot_label=gettext(lang, "for {day}, {span}").format(day=day.isoformat(), span=span),
        config=script_json(config),
    )  # fmt: skip


def _next_hour(day: date) -> tuple[str, str]:
    """The hour a meeting would most likely be booked for: the next half hour today."""
    now = now_utc().astimezone(WITA)
    if day != now.date() or now.hour >= 22:
        return "09:00", "10:00"
    begin = (now + timedelta(minutes=30 - now.minute % 30)).replace(second=0, microsecond=0)
    return begin.strftime("%H:%M"), (begin + timedelta(hours=1)).strftime("%H:%M")


ROOM_STATES = {
    "free": N_("Free"),
    "yours": N_("Yours"),
    "booked": N_("Booked"),
    "closed": N_("Closed"),
    "not_bookable": N_("Not bookable"),
}
ROOM_ICONS = {"free": "○", "yours": "★", "booked": "■", "closed": "–", "not_bookable": "·"}


@router.get("/app/rooms")
async def rooms_page(
    request: Request,
    person: Person,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    day: date | None = None,
    start: Annotated[str | None, Query(alias="from", max_length=5)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=5)] = None,
    capacity: Annotated[int, Query(ge=1, le=1000)] = 4,
) -> Response:
    """Meeting rooms for a slot, by how many people they seat; book one."""
    lang = page_language(request, person.user)
    today_local = now_utc().astimezone(WITA).date()
    day = day if day is not None and day >= today_local else today_local

    def read() -> tuple[list[Any], Any, datetime, datetime, list[Any]]:
        with db.session(commit=False) as session:
            all_buildings = list_buildings(session)
            if not all_buildings:
                raise NotFoundError("no building is set up yet")
            b = next((x for x in all_buildings if x.id == building), all_buildings[0])
            _, tz = building_tz(session, b.id)
            hours = opening(policy_for(session, b.id, None), day, tz)
            first, last = (start, end) if start and end else _next_hour(day)
            s, e = _slot(day, "time", first, last, hours)
            found = rooms_for(session, actor=person.user, building=b.id, start=s, end=e,
                              capacity=capacity, lang=lang)  # fmt: skip
            return all_buildings, b, s, e, found

    all_buildings, b, s, e, found = await asyncio.to_thread(read)
    done = request.query_params.get("booked")
    return render(
        request, "rooms.html", user=person.user, csrf=person.csrf, buildings=all_buildings,
        building=b, day=day, today=today_local, start_time=s.strftime("%H:%M"),
        end_time=e.strftime("%H:%M"), capacity=capacity, rooms=found, start=s.isoformat(),
        end=e.isoformat(), span=f"{s:%H:%M}–{e:%H:%M} WITA", states=_tr(lang, ROOM_STATES),
        icons=ROOM_ICONS,
        notice=done and gettext(lang, "Booked: room {room}. It is yours.").format(room=done),
    )  # fmt: skip


@router.post("/app/rooms/book")
async def book_room(
    request: Request,
    person: Person,
    db: DatabaseDep,
    building: Annotated[str, Form(max_length=32)],
    room: Annotated[str, Form(max_length=32)],
    start: Annotated[datetime, Form()],
    end: Annotated[datetime, Form()],
    capacity: Annotated[int, Form(ge=1, le=1000)] = 1,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Book a meeting room for the slot the list was made for."""
    lang = page_language(request, person.user)
    if not form_csrf_ok(request, person, csrf):
        return _problem(request, person, lang, N_("This page was out of date. Please try again."))
    new = BookingCreate(building=building, room=room, start=start, end=end)

    def act() -> None:
        with db.session() as session:
            bookings.create(session, actor=person.user, new=new, language=lang)

    try:
        await asyncio.to_thread(act)
    except (Refusal, NotFoundError) as exc:
        return _problem(request, person, lang, exc.args[0])
    local = start.astimezone(WITA)
    query = urlencode({"building": building, "day": local.date().isoformat(),
                       "from": f"{local:%H:%M}", "to": f"{end.astimezone(WITA):%H:%M}",
                       "capacity": capacity, "booked": room})  # fmt: skip
    return RedirectResponse(f"/app/rooms?{query}", status_code=303)


@router.get("/app/bookings")
async def my_bookings(request: Request, person: Person, db: DatabaseDep) -> Response:
    """My bookings to come (cancel, calendar file) and the last 30 days."""
    user = person.user
    lang = page_language(request, user)
    now = now_utc()

    def read() -> list[BookingPublic]:
        with db.session(commit=False) as session:
            return bookings.bookings(session, actor=user)

    rows = await asyncio.to_thread(read)
    coming = [b for b in rows if b.end > now and b.state in ("booked", "checked_in")]
    past = [b for b in rows if b.end <= now and b.start > now - timedelta(days=30)][::-1]
    return render(request, "bookings.html", user=user, csrf=person.csrf, coming=coming,
                  past=past, states=_tr(lang, STATES), outcomes=_tr(lang, OUTCOMES),
                  notice=request.query_params.get("done") and gettext(
                      lang, "The booking is cancelled."))  # fmt: skip


@router.post("/app/bookings/{booking_id}/cancel")
async def cancel_booking(
    request: Request, booking_id: int, person: Person, db: DatabaseDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """Cancel one of my bookings (the page asked for a confirmation first)."""
    lang = page_language(request, person.user)
    if not form_csrf_ok(request, person, csrf):
        return _problem(request, person, lang, N_("This page was out of date. Please try again."))

    def act() -> None:
        with db.session() as session:
            bookings.cancel(session, actor=person.user, booking_id=booking_id)

    try:
        await asyncio.to_thread(act)
    except (Refusal, NotFoundError) as exc:
        return _problem(request, person, lang, exc.args[0])
    return RedirectResponse("/app/bookings?done=cancelled", status_code=303)


def _problem(request: Request, person: Browser, lang: str, message: object) -> Response:
    text = say(message, lang)
    return render(request, "problem.html", user=person.user, csrf=person.csrf, status=409,
                  message=text)  # fmt: skip


@router.get("/app/bookings/{booking_id}.ics")
async def booking_ics(
    booking_id: int, person: Person, db: DatabaseDep, request: Request
) -> Response:
    """One booking as a calendar file."""
    lang = page_language(request, person.user)

    def read() -> BookingPublic:
        with db.session(commit=False) as session:
            row, tz = bookings.get(session, actor=person.user, booking_id=booking_id)
            return bookings.public(row, tz)

    b = await asyncio.to_thread(read)
    body = ics.calendar([b], lang=lang, host=request.url.hostname or "smartoffice")
    return Response(body, media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="booking-{b.id}.ics"'})  # fmt: skip


def _facts(session: Any, username: str) -> tuple[bool, str | None, bool]:
    prefs = preferences(session, username)
    return bool(prefs["share_location"]), prefs["language"], ics.has_feed(session, username)  # type: ignore[return-value]


@router.get("/app/profile")
async def profile(request: Request, person: Person, db: DatabaseDep) -> Response:
    """Language, the colleague finder opt-in, the calendar feed."""
    lang = page_language(request, person.user)

    def read() -> tuple[bool, str | None, bool]:
        with db.session(commit=False) as session:
            return _facts(session, person.user.username)

    share, chosen, has_feed = await asyncio.to_thread(read)
    return render(request, "profile.html", user=person.user, csrf=person.csrf,
                  roles=_tr(lang, ROLES), share_location=share, chosen_language=chosen,
                  has_feed=has_feed, feed_url=None,
                  notice=request.query_params.get("saved") and gettext(lang, "Saved."))  # fmt: skip


@router.post("/app/profile")
async def save_profile(
    request: Request, person: Person, db: DatabaseDep,
    language: Annotated[str, Form(max_length=8)] = "auto",
    share_location: Annotated[bool, Form()] = False,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """Keep the person's choices."""
    lang = page_language(request, person.user)
    if not form_csrf_ok(request, person, csrf):
        return _problem(request, person, lang, N_("This page was out of date. Please try again."))
    choice = language if language in (*LANGUAGES, "auto") else "auto"

    def keep() -> None:
        with db.session() as session:
            prefs = Preferences.model_validate(
                {"share_location": share_location, "language": choice}
            )
            set_preferences(session, username=person.user.username, prefs=prefs)

    await asyncio.to_thread(keep)
    response = RedirectResponse("/app/profile?saved=1", status_code=303)
    if choice != "auto":
        response.set_cookie(LANG_COOKIE, choice, max_age=365 * 86400, samesite="lax", path="/",
                            secure=request.url.scheme == "https")  # fmt: skip
    else:
        response.delete_cookie(LANG_COOKIE, path="/")
    return response


@router.post("/app/profile/feed")
async def calendar_feed(
    request: Request, person: Person, db: DatabaseDep,
    action: Annotated[str, Form(pattern="^(new|revoke)$")],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """Make a new secret calendar address (shown once), or turn it off."""
    lang = page_language(request, person.user)
    if not form_csrf_ok(request, person, csrf):
        return _problem(request, person, lang, N_("This page was out of date. Please try again."))

    def change() -> tuple[str | None, tuple[bool, str | None, bool]]:
        with db.session() as session:
            secret = ics.new_feed(session, person.user.username) if action == "new" else None
            if action == "revoke":
                ics.revoke_feed(session, person.user.username)
            session.flush()
            return secret, _facts(session, person.user.username)

    secret, (share, chosen, has_feed) = await asyncio.to_thread(change)
    url = str(request.url_for("feed", secret=secret)) if secret else None
    return render(request, "profile.html", user=person.user, csrf=person.csrf,
                  roles=_tr(lang, ROLES), share_location=share, chosen_language=chosen,
                  has_feed=has_feed, feed_url=url,
                  notice=gettext(lang, "The calendar address is turned off.")
                  if action == "revoke" else None)  # fmt: skip


@router.get("/calendar/{secret}.ics", name="feed", dependencies=[Public])
async def feed(secret: str, request: Request, db: DatabaseDep) -> Response:
    """A person's bookings as a calendar to subscribe to (the secret is the key)."""

    def read() -> tuple[str, list[BookingPublic]] | None:
        with db.session(commit=False) as session:
            return ics.feed_bookings(session, secret)

    found = await asyncio.to_thread(read)
    if found is None:
        return Response("no such calendar (the address was replaced or turned off)\n",
                        status_code=404, media_type="text/plain")  # fmt: skip
    lang, rows = found
    body = ics.calendar(rows, lang=lang, host=request.url.hostname or "smartoffice")
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the check-in page says after the tap."""

    kind: str
    title: str
    text: str


async def _desk_page(
    request: Request, person: Any, db: Any, building: str, desk: str
) -> tuple[Any, Any, BookingPublic | None]:
    def read() -> tuple[Any, Any, BookingPublic | None]:
        with db.session(commit=False) as session:
            b = building_public(session, building)
            found = bookings.find_space(session, building, desk, None)
            facts = next(d for d in floor_map(session, building, _floor_of(session, found)).desks
                         if d.id == found.code)  # fmt: skip
            now = now_utc()
            at = to_ms(now)
            opened = [
                x for x in bookings.bookings(session, actor=person.user, building=building,
                                             user=person.user.username)
                if x.space == desk and x.state == "booked"
                and to_ms(x.start) - CHECKIN_OPENS_BEFORE_MS <= at < to_ms(x.end)
            ]  # fmt: skip
            mine = opened[0] if opened else None
            return b, facts, mine

    return await asyncio.to_thread(read)


def _floor_of(session: Any, desk: Any) -> str:
    floor = session.get(Floor, desk.floor_id)
    return str(floor.code)


def _floor_name(building: BuildingPublic, floor: str) -> str:
    return next((f.name for f in building.floors if f.id == floor), floor)


@router.get("/checkin/{building}/{desk}")
async def checkin_page(
    request: Request, building: str, desk: str, person: Person, db: DatabaseDep
) -> Response:
    """The page the desk's QR label opens: check in, or walk in where the rules allow."""
    try:
        b, facts, mine = await _desk_page(request, person, db, building, desk)
    except NotFoundError:
        lang = page_language(request, person.user)
        return _problem(request, person, lang, N_("This QR code names no desk we know."))
    return render(request, "checkin.html", user=person.user, csrf=person.csrf, building=b,
                  desk=facts, floor_name=_floor_name(b, facts.floor), mine=mine,
                  outcome=None)  # fmt: skip


@router.post("/checkin/{building}/{desk}")
async def checkin(
    request: Request, building: str, desk: str, person: Person, db: DatabaseDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """Check in at this desk: my booking, or a walk-in; says plainly why not."""
    lang = page_language(request, person.user)
    try:
        b, facts, mine = await _desk_page(request, person, db, building, desk)
    except NotFoundError:
        return _problem(request, person, lang, N_("This QR code names no desk we know."))
    if not form_csrf_ok(request, person, csrf):
        return _problem(request, person, lang, N_("This page was out of date. Please try again."))

    def act() -> BookingPublic:
        with db.session() as session:
            return bookings.desk_check_in(session, actor=person.user, building=building, desk=desk)

    try:
        done = await asyncio.to_thread(act)
    except Refusal as exc:
        title = {
            "too_early": N_("Too early"),
            "in_the_past": N_("Too late"),
            "conflict": N_("Someone else's desk"),
            "team_zone": N_("Someone else's desk"),
        }.get(exc.rule, N_("Not possible"))
        outcome = Outcome("error", gettext(lang, title), say(exc.args[0], lang))
    else:
        until = done.end.astimezone(WITA).strftime("%H:%M")
        text = (gettext(lang, "Walk-in booked until {time} WITA.") if mine is None
                else gettext(lang, "Your booking runs until {time} WITA."))  # fmt: skip
        outcome = Outcome("ok", gettext(lang, "You are checked in"), text.format(time=until))
    return render(request, "checkin.html", user=person.user, csrf=person.csrf, building=b,
                  desk=facts, floor_name=_floor_name(b, facts.floor), mine=mine, outcome=outcome,
                  status=200 if outcome.kind == "ok" else 409)  # fmt: skip


__all__ = ["router"]
