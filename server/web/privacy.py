"""Privacy pages: the notice (anyone), your data (each person), requests (administrators).

The notice is written from the inventory, the settings and the retention job's runs
(server.privacy.notice). Everything a page does goes through the same services as the
JSON API (server.privacy.subject), so it is audited the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.api.deps import DatabaseDep, Public, services
from server.api.errors import status_of
from server.api.privacy import RequestId
from server.calendar.dates import from_ms, today_in
from server.clock import now_ms
from server.exceptions import ServerError
from server.i18n import N_, gettext
from server.privacy import subject
from server.privacy.inventory import CATEGORIES
from server.privacy.notice import Responsible, entries, responsible
from server.privacy.retention import last_runs
from server.privacy.schemas import PrivacyDecision, PrivacyRequestCreate
from server.web import notices
from server.web.admin.common import fault, tabs
from server.web.browser import (
    Browser,
    PeopleAdminForm,
    PeopleAdminPage,
    Person,
    PersonForm,
    Visitor,
)
from server.web.render import page_language, render
from server.web.words import OUTCOMES

router = APIRouter(include_in_schema=False)

KINDS = {"anonymise": N_("Anonymise my history"), "erase": N_("Erase my account")}
STATES = {
    "open": N_("waiting for an administrator"),
    "done": N_("carried out"),
    "refused": N_("refused"),
    "withdrawn": N_("withdrawn"),
}
VIA = {
    "sensor": N_("the desk's sensor"),
    "qr": N_("you, with the desk's QR code"),
    "manager": N_("a facility manager"),
    "app": N_("you, in the app (not confirmed)"),
    "pending": N_("you; waiting for the desk's sensor"),
    "unconfirmed": N_("you; the desk's sensor saw nobody (not counted)"),
}
"""How a check-in showed the person was there (Booking.presence), as the page says it."""
DONE = {
    "asked": N_("Your request is filed. An administrator will carry it out or tell you why not."),
    "withdrawn": N_("Your request is withdrawn."),
    "decided": N_("Request {x} is decided."),
}


def _today(tz: ZoneInfo) -> date:
    return today_in(tz)


@router.get("/privacy", dependencies=[Public])
async def notice(request: Request, visitor: Visitor) -> Response:
    """The privacy notice: what is held about people, why, who sees it, for how long."""
    user = visitor.user if visitor else None
    lang = page_language(request, user)
    s = services(request)
    runs = await run_in_threadpool(last_runs, s.retention.ctx)

    def who() -> list[Responsible]:
        with s.db.session(commit=False) as session:
            return responsible(session, s.settings, lang, user.agency if user else None)

    return render(
        request,
        "privacy/notice.html",
        user=user,
        csrf=visitor.csrf if visitor else None,
        entries=entries(s.settings, runs, lang),
        settings=s.settings,
        responsible=await run_in_threadpool(who),
    )


@router.get("/app/privacy")
async def my_data(
    request: Request,
    person: Person,
    db: DatabaseDep,
    days: Annotated[int, Query(ge=7, le=730)] = 90,
) -> Response:
    """Your attendance as the platform holds it, your export, and your requests."""
    last = _today(db.zone)

    def read() -> tuple[Any, Any]:
        with db.session(commit=False) as session:
            seen = subject.attendance(
                session,
                username=person.user.username,
                start=last - timedelta(days=days - 1),
                end=last,
            )
            return seen, subject.requests(session, username=person.user.username)

    seen, mine = await run_in_threadpool(read)
    return render(
        request,
        "privacy/mine.html",
        user=person.user,
        csrf=person.csrf,
        seen=seen,
        requests=mine,
        days=days,
        kinds=KINDS,
        states=STATES,
        outcomes=OUTCOMES,
        via=VIA,
    )


@router.post("/app/privacy/requests")
async def ask(
    request: Request,
    person: PersonForm,
    db: DatabaseDep,
    kind: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """File a request to anonymise one's history or erase one's account."""
    new = PrivacyRequestCreate(kind=kind, note=note)

    def save() -> None:
        with db.session() as session:
            subject.make_request(session, actor=person.user, new=new, now_ms=now_ms())

    await run_in_threadpool(save)
    return _done(request, person, "/app/privacy", "asked")


@router.post("/app/privacy/requests/{request_id}/withdraw")
async def withdraw(
    request: Request, person: PersonForm, db: DatabaseDep, request_id: RequestId
) -> Response:
    """Take back one's open request."""

    def save() -> None:
        with db.session() as session:
            subject.withdraw(session, actor=person.user, request_id=request_id, now_ms=now_ms())

    await run_in_threadpool(save)
    return _done(request, person, "/app/privacy", "withdrawn")


def _done(request: Request, person: Browser, path: str, done: str, x: object = "") -> Response:
    said = gettext(page_language(request, person.user), DONE[done]).format(x=x)
    return notices.redirect(request, path, said)


# ---- administrators ---------------------------------------------------------------------


@router.get("/app/admin/privacy")
async def requests_page(request: Request, person: PeopleAdminPage, db: DatabaseDep) -> Response:
    """Requests to carry out, the retention job's state, and a form to look up attendance."""
    return await _requests_page(request, person, db, Lookup())


@dataclass(frozen=True, slots=True)
class Lookup:
    """An administrator's look at a person's attendance: who, why, how far back."""

    who: str = ""
    reason: str = ""
    days: int = 90


@router.post("/app/admin/privacy/attendance")
async def attendance_lookup(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    who: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=300)],
    days: Annotated[int, Form(ge=7, le=730)] = 90,
) -> Response:
    """A person's attendance, shown with a stated reason that goes in the audit log.

    A form the administrator sends (with its CSRF token), never a link: a URL someone else
    wrote cannot make an administrator's browser read a person's data, nor choose the
    reason recorded for it.
    """
    return await _requests_page(request, person, db, Lookup(who.strip(), reason, days))


async def _requests_page(
    request: Request, person: Browser, db: DatabaseDep, ask: Lookup
) -> Response:
    lang = page_language(request, person.user)
    s = services(request)
    last = _today(db.zone)

    def read() -> tuple[Any, Any, ServerError | None, Any]:
        seen, problem = None, None
        with db.session() as session:
            if ask.who:
                try:
                    seen = subject.attendance_for(
                        session,
                        actor=person.user,
                        username=ask.who,
                        reason=ask.reason,
                        start=last - timedelta(days=ask.days - 1),
                        end=last,
                    )
                except ServerError as exc:  # refused, or no such person: nothing was written
                    problem = exc
            everyone = subject.requests(session, actor=person.user)
        return everyone, seen, problem, last_runs(s.retention.ctx)

    everyone, seen, problem, runs = await run_in_threadpool(read)
    return render(
        request,
        "admin/privacy.html",
        user=person.user,
        csrf=person.csrf,
        tabs=tabs(person),
        requests=everyone,
        seen=seen,
        who=ask.who,
        reason=ask.reason,
        days=ask.days,
        kinds=KINDS,
        states=STATES,
        runs=runs,
        categories=CATEGORIES,
        settings=s.settings,
        outcomes=OUTCOMES,
        when=lambda ms: from_ms(ms, db.zone),
        notice=fault(lang, problem) if problem else None,
        notice_kind="error" if problem else "ok",
        status=status_of(problem) if problem else 200,
    )


@router.post("/app/admin/privacy/{request_id}")
async def decide(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    request_id: RequestId,
    carry_out: Annotated[bool, Form()],
    answer: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Carry a request out, or refuse it saying why."""
    decision = PrivacyDecision(carry_out=carry_out, answer=answer)

    def save() -> None:
        with db.session() as session:
            subject.decide(
                session,
                admin=person.user,
                request_id=request_id,
                decision=decision,
                now_ms=now_ms(),
            )

    await run_in_threadpool(save)
    return _done(request, person, "/app/admin/privacy", "decided", request_id)
