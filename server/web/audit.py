"""The audit log for administrators: who changed what, said in words.

Each action is said in the person's language ("booked", "changed the booking rules"),
with the thing it touched and its details; times in the buildings' zone, with the zone
named. The search form's empty fields mean "any": an empty date is no limit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.api.deps import DatabaseDep
from server.audit.service import AuditPublic
from server.auth.service import audit_entries
from server.calendar.dates import FormDay, day_start, from_ms, to_ms
from server.i18n import N_, gettext
from server.web.admin.common import tabs
from server.web.browser import PeopleAdminPage
from server.web.render import page_language, render

router = APIRouter(include_in_schema=False)

ACTIONS: Final = {
    "booking.create": N_("booked"),
    "booking.cancel": N_("cancelled a booking"),
    "booking.check_in": N_("checked in"),
    "booking.check_out": N_("checked out"),
    "booking.confirmed": N_("saw the person at the desk (check-in confirmed)"),
    "booking.unconfirmed": N_("saw nobody at the desk (check-in not confirmed)"),
    "booking.no_show": N_("released a booking: nobody came"),
    "booking.released_early": N_("released a booking: the desk was left empty"),
    "booking.policy": N_("changed the booking rules"),
    "booking.closed_day": N_("closed a day for bookings"),
    "desk.block": N_("blocked a desk"),
    "desk.unblock": N_("ended a desk's block"),
    "desk.qr_key": N_("gave a desk a new QR label"),
    "device.register": N_("registered a device"),
    "device.assign": N_("placed a device"),
    "device.unassign": N_("took a device off its place"),
    "device.password": N_("gave a device a new password"),
    "device.decommission": N_("decommissioned a device"),
    "device.command.identify": N_("made a device blink"),
    "device.command.reboot": N_("restarted a device"),
    "device.command.config": N_("sent a device new settings"),
    "gateway.create": N_("added a gateway"),
    "gateway.token": N_("gave a gateway a new token"),
    "gateway.revoke": N_("revoked a gateway"),
    "kiosk.create": N_("made a kiosk link"),
    "kiosk.revoke": N_("switched a kiosk link off"),
    "layout.import": N_("imported a building's layout"),
    "layout.plan": N_("uploaded a floor plan"),
    "registry.import": N_("imported gateways and devices"),
    "user.create": N_("created an account"),
    "user.update": N_("changed an account"),
    "user.role": N_("changed a role (from the identity provider)"),
    "user.link": N_("linked an account to the identity provider"),
    "user.preferences": N_("changed their own choices"),
    "login.held": N_("held sign-ins from new browsers (many wrong passwords)"),
    "personal.read": N_("read personal data"),
    "privacy.export": N_("downloaded their data"),
    "privacy.request": N_("asked about their data"),
    "privacy.withdraw": N_("withdrew a request about their data"),
    "privacy.refuse": N_("refused a request about personal data"),
    "privacy.anonymise": N_("anonymised a person's history"),
    "privacy.erase": N_("erased an account"),
    "privacy.retention": N_("deleted data past its retention"),
}
THINGS: Final = {
    "booking": N_("booking"),
    "desk": N_("desk"),
    "device": N_("device"),
    "gateway": N_("gateway"),
    "kiosk": N_("kiosk"),
    "user": N_("account"),
    "person": N_("person"),
    "building": N_("building"),
    "privacy_request": N_("request"),
    "registry": N_("registry"),
}


def said(lang: str, entry: AuditPublic) -> tuple[str, str]:
    """The entry's action and thing in words (an action without words keeps its code)."""
    words = ACTIONS.get(entry.action)
    action = gettext(lang, words) if words else entry.action
    kind = THINGS.get(entry.target_kind)
    thing = f"{gettext(lang, kind) if kind else entry.target_kind} {entry.target_id}"
    return action, thing.strip()


@router.get("/app/admin/audit")
async def audit_page(
    request: Request,
    person: PeopleAdminPage,
    db: DatabaseDep,
    actor: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    target: Annotated[str, Query(max_length=100)] = "",
    text: Annotated[str, Query(max_length=100)] = "",
    since: Annotated[FormDay, Query()] = None,
    until: Annotated[FormDay, Query()] = None,
) -> Response:
    """Who changed what, newest first: by person, action, thing, words, and days."""
    lang = page_language(request, person.user)

    def read() -> tuple[list[AuditPublic], Any]:
        with db.session(commit=False) as session:
            tz = db.zone
            since_ms = to_ms(day_start(since, tz)) if since else None
            until_ms = to_ms(day_start(until + timedelta(days=1), tz)) if until else None
            rows = audit_entries(
                session,
                person.user,
                actor=actor or None,
                action=action or None,
                target_id=target or None,
                text=text or None,
                since_ms=since_ms,
                until_ms=until_ms,
                limit=200,
            )
            return rows, tz

    rows, tz = await run_in_threadpool(read)

    def at(ms: int) -> str:
        moment = from_ms(ms, tz)
        return f"{moment:%d-%m-%Y %H:%M:%S} {moment.tzname()}"

    return render(
        request,
        "admin/audit.html",
        user=person.user,
        csrf=person.csrf,
        tabs=tabs(person),
        entries=[(e, *said(lang, e)) for e in rows],
        actor=actor,
        action=action,
        target=target,
        text=text,
        since=since,
        until=until,
        at=at,
        actions=[(k, gettext(lang, v)) for k, v in ACTIONS.items()],
    )
