"""What every administrators' page shares: the tabs, a form's answer, running a service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from server.i18n import N_, gettext, say
from server.roles import ADMINS, PEOPLE_ADMINS, Role
from server.web import notices
from server.web.browser import Browser
from server.web.render import page_language, render

TABS: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("/app/admin", N_("Accounts"), PEOPLE_ADMINS),
    ("/app/admin/agencies", N_("Agencies"), PEOPLE_ADMINS),
    ("/app/admin/rules", N_("Booking rules"), ADMINS),
    ("/app/admin/calendar", N_("Closed days and blocked desks"), ADMINS),
    ("/app/admin/gateways", N_("Gateways and kiosks"), ADMINS),
    ("/app/admin/audit", N_("Audit log"), PEOPLE_ADMINS),
    ("/app/admin/privacy", N_("Personal data"), PEOPLE_ADMINS),
)
"""The administrators' pages, each with the roles that open it (the tabs a person sees)."""


def tabs(person: Browser) -> list[tuple[str, str]]:
    """The administrators' pages ``person`` may open."""
    return [(href, label) for href, label, roles in TABS if person.user.role in roles]


DONE = {
    "user_created": N_("Account {x} created."),
    "user_updated": N_("Account {x} changed."),
    "agency_created": N_("Agency {x} added."),
    "agency_updated": N_("Agency {x} changed."),
    "unit_added": N_("Unit {x} added."),
    "unit_plans_saved": N_("Unit {x}: its head and team days are saved."),
    "agency_rules_saved": N_(
        "The own rules of {x} are saved: its people's new bookings follow them."
    ),
    "agency_day_closed": N_("{x} is closed for the agency's people."),
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


def back(request: Request, person: Browser, path: str, done: str, x: str) -> Response:
    """To ``path``, which says what was done (in a signed notice, never in the URL)."""
    said = gettext(page_language(request, person.user), DONE[done]).format(x=x)
    return notices.redirect(request, path, said)


def show(request: Request, person: Browser, template: str, **values: Any) -> Response:
    """An administrators' page with its tabs, and the answer of the form that led to it."""
    notice = values.pop("notice", None)
    return render(
        request,
        template,
        user=person.user,
        csrf=person.csrf,
        tabs=tabs(person),
        notice=notice,
        notice_kind=values.pop("notice_kind", "ok"),
        status=values.pop("status", 200),
        **values,
    )


def fault(lang: str, exc: Exception) -> str:
    """What was wrong with a form, in the page's language."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return say(exc.args[0], lang) if exc.args else str(exc)


async def run(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` (a service call in its own session) on a worker thread."""
    return await run_in_threadpool(fn)
