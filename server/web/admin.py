"""The administrators' pages: accounts, booking rules, closed days, gateways, the audit log.

Also blocked desks, gateway tokens and kiosk links.

Plain forms (no script): each change posts with the session's CSRF token, goes through
the same services as the JSON API (so it is audited the same way), and comes back to the
page with what happened. A secret made here (a gateway token, a kiosk link) is shown on
the answer page once, never put in a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from server.api.deps import DatabaseDep
from server.api.errors import status_of
from server.auth.schemas import UserCreate, UserUpdate
from server.auth.service import create_user, list_users, update_user
from server.bookings import kiosks
from server.bookings.blocks import block_desk, end_block
from server.bookings.blocks import blocks as desk_blocks
from server.bookings.kiosks import KioskCreate
from server.bookings.schemas import DeskBlockDoc
from server.bookings.visibility import audit_read
from server.calendar import admin as calendar
from server.calendar.dates import Day, from_ms, now_utc
from server.calendar.policy import policy_for
from server.calendar.schemas import ClosedDayDoc, PolicyDoc
from server.exceptions import ServerError
from server.i18n import N_, WEEKDAYS, gettext, say
from server.registry.schemas import GatewayCreate
from server.registry.service import create_gateway, gateways, revoke_gateway, rotate_gateway
from server.spaces.service import buildings as list_buildings
from server.spaces.service import zones as building_zones
from server.web import notices
from server.web.browser import AdminForm, AdminPage, Browser
from server.web.render import ROLES, page_language, render

router = APIRouter(include_in_schema=False)

TABS = (
    ("/app/admin", N_("Accounts")),
    ("/app/admin/rules", N_("Booking rules")),
    ("/app/admin/calendar", N_("Closed days and blocked desks")),
    ("/app/admin/gateways", N_("Gateways and kiosks")),
    ("/app/admin/audit", N_("Audit log")),
    ("/app/admin/privacy", N_("Personal data")),
)
DONE = {
    "user_created": N_("Account {x} created."),
    "user_updated": N_("Account {x} changed."),
    "rules_saved": N_("Booking rules of {x} saved: new bookings follow them now."),
    "day_closed": N_("{x} is closed for bookings."),
    "desk_blocked": N_("Desk {x} is blocked."),
    "block_ended": N_("The block of desk {x} has ended."),
    "gateway_revoked": N_("Gateway {x} can no longer deliver."),
    "kiosk_revoked": N_("Kiosk link {x} is switched off."),
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What a form's answer page says: a notice, its kind, the status, a secret made once.

    Only a form's handler gives one; a page opened by URL gets the empty answer (so no
    URL can put words, a status or a "secret" on the page).
    """

    notice: str | None = None
    kind: str = "ok"
    status: int = 200
    made: dict[str, str] | None = None


def _no_answer() -> Answer:
    return Answer()


Said = Annotated[Answer, Depends(_no_answer)]


def _back(request: Request, person: Browser, path: str, done: str, x: str) -> Response:
    """To ``path``, which says what was done (in a signed notice, never in the URL)."""
    said = gettext(page_language(request, person.user), DONE[done]).format(x=x)
    return notices.redirect(request, path, said)


def _page(request: Request, person: Browser, template: str, **values: Any) -> Response:
    notice = values.pop("notice", None)
    return render(request, template, user=person.user, csrf=person.csrf, tabs=TABS,
                  notice=notice, notice_kind=values.pop("notice_kind", "ok"),
                  status=values.pop("status", 200), **values)  # fmt: skip


def fault(lang: str, exc: Exception) -> str:
    """What was wrong with a form, in the page's language."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return say(exc.args[0], lang) if exc.args else str(exc)


async def _run(fn: Callable[[], Any]) -> Any:
    return await run_in_threadpool(fn)


# ---- accounts ---------------------------------------------------------------------------


@router.get("/app/admin")
async def accounts(
    request: Request, person: AdminPage, db: DatabaseDep, answer: Said
) -> Response:  # fmt: skip
    """Every account, its role and whether it may sign in; a new account."""

    def read() -> list[Any]:
        with db.session() as session:
            audit_read(session, actor=person.user, person="*", what="accounts", reason="")
            return list_users(session)

    lang = page_language(request, person.user)
    users = await _run(read)
    return _page(request, person, "admin/accounts.html", users=users, notice=answer.notice,
                 notice_kind=answer.kind, status=answer.status,
                 roles=[(k, gettext(lang, v)) for k, v in ROLES.items()],
                 seen=lambda ms: from_ms(ms, db.zone).strftime("%d/%m/%Y %H:%M")
                 if ms else "—")  # fmt: skip


@router.post("/app/admin/users")
async def new_account(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    username: Annotated[str, Form(max_length=100)],
    display_name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=32)],
    password: Annotated[str, Form(max_length=200)],
    team: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Create an account (its password set here; the person changes it later)."""
    lang = page_language(request, person.user)
    try:
        new = UserCreate.model_validate({"username": username.strip().lower(), "role": role,
                                         "display_name": display_name, "password": password,
                                         "team": team or None})  # fmt: skip

        def make() -> None:
            with db.session() as session:
                create_user(session, actor=person.user.username, new=new)

        await _run(make)
    except (ValidationError, ServerError) as exc:
        return await accounts(request, person, db, Answer(fault(lang, exc), "error", 400))
    return _back(request, person, "/app/admin", "user_created", new.username)


@router.post("/app/admin/users/{username}")
async def change_account(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    username: str,
    role: Annotated[str, Form(max_length=32)],
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Change an account's role, or stop (or allow again) its sign-in."""
    lang = page_language(request, person.user)
    try:
        change = UserUpdate.model_validate({"role": role, "active": active == "on"})

        def save() -> None:
            with db.session() as session:
                update_user(session, actor=person.user.username, username=username,
                            change=change)  # fmt: skip

        await _run(save)
    except (ValidationError, ServerError) as exc:
        return await accounts(request, person, db, Answer(fault(lang, exc), "error", 400))
    return _back(request, person, "/app/admin", "user_updated", username)


# ---- booking rules ----------------------------------------------------------------------


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _minute(text: str) -> int:
    t = time.fromisoformat(text) if text != "24:00" else None
    return 1440 if t is None else t.hour * 60 + t.minute


@router.get("/app/admin/rules")
async def rules(
    request: Request,
    person: AdminPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    zone: Annotated[str | None, Query(max_length=32)] = None,
    answer: Said = Answer(),
) -> Response:
    """The booking rules of a building, or of one of its zones (which then win)."""
    lang = page_language(request, person.user)

    def read() -> tuple[list[Any], Any, list[Any], Any]:
        with db.session(commit=False) as session:
            found = list_buildings(session)
            b = next((x for x in found if x.id == building), found[0])
            zones = building_zones(session, b.id)
            z = next((x for x in zones if x.code == zone), None)
            return (
                found,
                b,
                [(x.code, x.name) for x in zones],
                policy_for(session, b.id, z.id if z else None),
            )

    found, b, zones, policy = await _run(read)
    return _page(request, person, "admin/rules.html", buildings=found, building=b, zones=zones,
                 zone=zone or "", policy=policy, hhmm=_hhmm, status=answer.status,
                 notice=answer.notice, notice_kind=answer.kind,
                 weekdays=[(i, gettext(lang, WEEKDAYS[i])) for i in range(7)])  # fmt: skip


@router.post("/app/admin/rules")
async def save_rules(request: Request, person: AdminForm, db: DatabaseDep) -> Response:
    """Save the rules; bookings made from now on follow them."""
    form = await request.form()
    lang = page_language(request, person.user)
    building, zone = str(form.get("building", "")), str(form.get("zone", "")) or None
    try:
        doc = PolicyDoc.model_validate({
            **{k: int(str(form.get(k, "0")) or 0) for k in (
                "window_days", "min_minutes", "max_minutes", "max_per_day", "max_per_week",
                "checkin_grace_minutes", "release_after_vacant_minutes")},
            "open_minute": _minute(str(form.get("open", "07:00"))),
            "close_minute": _minute(str(form.get("close", "19:00"))),
            "weekdays": [int(str(d)) for d in form.getlist("weekdays")],
            "public_holidays": form.get("public_holidays") == "on",
        })  # fmt: skip

        def save() -> None:
            with db.session() as session:
                calendar.set_policy(session, actor=person.user.username, building=building,
                                    zone=zone, doc=doc)  # fmt: skip

        await _run(save)
    except (ValueError, ValidationError, ServerError) as exc:
        return await rules(request, person, db, building=building, zone=zone,
                           answer=Answer(fault(lang, exc), "error", 400))  # fmt: skip
    where = urlencode({"building": building, **({"zone": zone} if zone else {})})
    said = f"{building}{'/' + zone if zone else ''}"
    return _back(request, person, f"/app/admin/rules?{where}", "rules_saved", said)


# ---- closed days and blocked desks ------------------------------------------------------


@router.get("/app/admin/calendar")
async def calendar_page(
    request: Request,
    person: AdminPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    year: Annotated[int | None, Query(ge=2020, le=2099)] = None,
    answer: Said = Answer(),
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
                ({"id": x.id, "reason": x.reason, "created_by": x.created_by}, x.desk, x.start,
                 x.end)
                for x in desk_blocks(session, building=b.id)
            ]  # fmt: skip
            return found, b, days, blocks, today

    found, b, days, blocks, today = await _run(read)
    return _page(request, person, "admin/calendar.html", buildings=found, building=b,
                 days=days, blocks=blocks, year=year, today=today, status=answer.status,
                 notice=answer.notice, notice_kind=answer.kind)  # fmt: skip


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

        await _run(save)
    except (ValidationError, ServerError) as exc:
        return await calendar_page(request, person, db, building=building, year=day.year,
                                   answer=Answer(fault(lang, exc), "error", 400))  # fmt: skip
    where = urlencode({"building": building, "year": day.year})
    return _back(request, person, f"/app/admin/calendar?{where}", "day_closed", day.isoformat())


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
        doc = DeskBlockDoc.model_validate({
            "start": datetime.combine(start, time()).isoformat(),
            "end": datetime.combine(end + timedelta(days=1), time()).isoformat(),
            "reason": reason})  # fmt: skip

        def save() -> None:
            with db.session() as session:
                block_desk(session, actor=person.user.username, building=building, desk=desk,
                           doc=doc)  # fmt: skip

        await _run(save)
    except (ValidationError, ServerError) as exc:
        return await calendar_page(request, person, db, building=building,
                                   answer=Answer(fault(lang, exc), "error", 400))  # fmt: skip
    where = urlencode({"building": building})
    return _back(request, person, f"/app/admin/calendar?{where}", "desk_blocked", desk)


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

    desk = await _run(save)
    where = urlencode({"building": building})
    return _back(request, person, f"/app/admin/calendar?{where}", "block_ended", desk)


# ---- gateways and kiosk links -----------------------------------------------------------


@router.get("/app/admin/gateways")
async def gateways_page(
    request: Request, person: AdminPage, db: DatabaseDep, answer: Said
) -> Response:  # fmt: skip
    """Gateways (their last call, backlog, troubles), and kiosk links."""

    def read() -> tuple[list[Any], list[Any], list[Any]]:
        with db.session(commit=False) as session:
            return gateways(session), kiosks.listed(session), list_buildings(session)

    gws, links, found = await _run(read)
    tz = db.zone
    return _page(request, person, "admin/gateways.html", gateways=gws, kiosks=links,
                 buildings=found, made=answer.made, status=answer.status,
                 notice=answer.notice, notice_kind=answer.kind,
                 at=lambda ms: from_ms(ms, tz).strftime("%d/%m %H:%M") if ms else "—")  # fmt: skip


@router.post("/app/admin/gateways")
async def gateway_create(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    gateway: Annotated[str, Form(max_length=100)],
    building: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A new gateway: its token is shown on this answer, once."""

    def save() -> str:
        new = GatewayCreate(id=gateway.strip(), building=building or None)
        with db.session() as session:
            return create_gateway(session, actor=person.user, new=new)

    return await _gateway_token(request, person, db, gateway, save)


@router.post("/app/admin/gateways/{gateway_id}/token")
async def gateway_rotate(
    request: Request, person: AdminForm, db: DatabaseDep, gateway_id: str,
) -> Response:  # fmt: skip
    """A new token for a gateway (the old one stops working): shown on this answer, once."""

    def save() -> str:
        with db.session() as session:
            return rotate_gateway(session, actor=person.user, gateway_id=gateway_id)

    return await _gateway_token(request, person, db, gateway_id, save)


async def _gateway_token(
    request: Request, person: Browser, db: Any, gateway: str, save: Callable[[], str]
) -> Response:
    lang = page_language(request, person.user)
    try:
        token = await _run(save)
    except (ServerError, ValidationError) as exc:
        status = status_of(exc, default=400)
        return await gateways_page(request, person, db, Answer(fault(lang, exc), "error", status))
    note = gettext(lang, "The token of gateway {id}: copy it into the gateway's settings "
                   "(GATEWAY_TOKEN) now; it is not shown again.").format(id=gateway)  # fmt: skip
    return await gateways_page(request, person, db,
                               Answer(note, made={"what": "token", "value": token}))  # fmt: skip


@router.post("/app/admin/gateways/{gateway_id}/revoke")
async def gateway_revoke(
    request: Request, person: AdminForm, db: DatabaseDep, gateway_id: str,
) -> Response:  # fmt: skip
    """Revoke a gateway's token: it can deliver nothing more."""

    def save() -> None:
        with db.session() as session:
            revoke_gateway(session, gateway_id=gateway_id, actor=person.user.username)

    await _run(save)
    return _back(request, person, "/app/admin/gateways", "gateway_revoked", gateway_id)


@router.post("/app/admin/kiosks")
async def kiosk_link(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    building: Annotated[str, Form(max_length=32)],
    floor: Annotated[str, Form(max_length=32)],
    label: Annotated[str, Form(max_length=100)],
) -> Response:
    """A link for a floor's screen by the lift: shown on this answer, once."""
    lang = page_language(request, person.user)
    try:
        new = KioskCreate(building=building, floor=floor, label=label)

        def save() -> Any:
            with db.session() as session:
                return kiosks.create(session, actor=person.user.username, new=new)

        made = await _run(save)
    except (ValidationError, ServerError) as exc:
        return await gateways_page(request, person, db, Answer(fault(lang, exc), "error", 400))
    link = f"{str(request.base_url).rstrip('/')}{made.path}"
    note = gettext(lang, "The link for {label}: open it on the screen now; it is not shown "
                   "again.").format(label=label)  # fmt: skip
    return await gateways_page(request, person, db,
                               Answer(note, made={"what": "kiosk", "value": link}))  # fmt: skip


@router.post("/app/admin/kiosks/{kiosk_id}/revoke")
async def kiosk_revoke(
    request: Request, person: AdminForm, db: DatabaseDep, kiosk_id: int,
) -> Response:  # fmt: skip
    """Switch a kiosk link off: its screen shows nothing from now on."""

    def save() -> Any:
        with db.session() as session:
            return kiosks.revoke(session, actor=person.user.username, kiosk_id=kiosk_id)

    gone = await _run(save)
    return _back(request, person, "/app/admin/gateways", "kiosk_revoked", gone.label)


# ---- the audit log ----------------------------------------------------------------------
