"""Privacy pages: the notice (anyone), your data (each person), requests (administrators).

The notice is written from the inventory, the settings and the retention job's runs
(server.privacy.notice). Everything a page does goes through the same services as the
JSON API (server.privacy.subject), so it is audited the same way.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from server.api.deps import DatabaseDep, Public, services
from server.api.errors import status_of
from server.api.privacy import RequestId
from server.calendar.dates import WITA, from_ms, now_utc
from server.exceptions import ServerError
from server.i18n import N_, gettext
from server.privacy import subject
from server.privacy.inventory import CATEGORIES
from server.privacy.notice import entries
from server.privacy.retention import last_runs
from server.privacy.schemas import PrivacyDecision, PrivacyRequestCreate
from server.web.admin import TABS, check_form, fault
from server.web.browser import AdminPage, Browser, Person, Visitor
from server.web.pages import OUTCOMES
from server.web.render import page_language, render

router = APIRouter(include_in_schema=False)

KINDS = {"anonymise": N_("Anonymise my history"), "erase": N_("Erase my account")}
STATES = {"open": N_("waiting for an administrator"), "done": N_("carried out"),
          "refused": N_("refused"), "withdrawn": N_("withdrawn")}  # fmt: skip
VIA = {"sensor": N_("the desk's sensor"), "qr": N_("you (QR code or app)"),
       "manager": N_("a facility manager")}  # fmt: skip
DONE = {
    "asked": N_("Your request is filed. An administrator will carry it out or tell you why not."),
    "withdrawn": N_("Your request is withdrawn."),
    "decided": N_("Request {x} is decided."),
}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _today() -> date:
    return now_utc().astimezone(WITA).date()


def _notice(request: Request, lang: str) -> str | None:
    done = request.query_params.get("done")
    if done not in DONE:
        return None
    return gettext(lang, DONE[done]).format(x=request.query_params.get("x", ""))


@router.get("/privacy", dependencies=[Public])
async def notice(request: Request, visitor: Visitor) -> Response:
    """The privacy notice: what is held about people, why, who sees it, for how long."""
    user = visitor.user if visitor else None
    lang = page_language(request, user)
    s = services(request)
    runs = await asyncio.to_thread(last_runs, s.retention.ctx)
    return render(request, "privacy/notice.html", user=user,
                  csrf=visitor.csrf if visitor else None,
                  entries=entries(s.settings, runs, lang), settings=s.settings)  # fmt: skip


@router.get("/app/privacy")
async def my_data(
    request: Request, person: Person, db: DatabaseDep,
    days: Annotated[int, Query(ge=7, le=730)] = 90,
) -> Response:  # fmt: skip
    """Your attendance as the platform holds it, your export, and your requests."""
    lang = page_language(request, person.user)
    last = _today()

    def read() -> tuple[Any, Any]:
        with db.session(commit=False) as session:
            seen = subject.attendance(session, username=person.user.username,
                                      start=last - timedelta(days=days - 1), end=last)  # fmt: skip
            return seen, subject.requests(session, username=person.user.username)

    seen, mine = await asyncio.to_thread(read)
    return render(request, "privacy/mine.html", user=person.user, csrf=person.csrf,
                  seen=seen, requests=mine, days=days, kinds=KINDS, states=STATES,
                  outcomes=OUTCOMES, via=VIA,
                  notice=_notice(request, lang))  # fmt: skip


@router.post("/app/privacy/requests")
async def ask(
    request: Request, person: Person, db: DatabaseDep,
    kind: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """File a request to anonymise one's history or erase one's account."""
    lang = page_language(request, person.user)
    try:
        check_form(request, person, csrf)
        new = PrivacyRequestCreate(kind=kind, note=note)

        def save() -> None:
            with db.session() as session:
                subject.make_request(session, actor=person.user, new=new, now_ms=_now_ms())

        await asyncio.to_thread(save)
    except (ServerError, ValidationError) as exc:
        return _again(request, person, lang, exc)
    return RedirectResponse("/app/privacy?done=asked", status_code=303)


@router.post("/app/privacy/requests/{request_id}/withdraw")
async def withdraw(
    request: Request, person: Person, db: DatabaseDep, request_id: RequestId,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """Take back one's open request."""
    lang = page_language(request, person.user)
    try:
        check_form(request, person, csrf)

        def save() -> None:
            with db.session() as session:
                subject.withdraw(session, actor=person.user, request_id=request_id,
                                 now_ms=_now_ms())  # fmt: skip

        await asyncio.to_thread(save)
    except ServerError as exc:
        return _again(request, person, lang, exc)
    return RedirectResponse("/app/privacy?done=withdrawn", status_code=303)


def _again(request: Request, person: Browser, lang: str, exc: Exception) -> Response:
    status = status_of(exc) if isinstance(exc, ServerError) else 422
    return render(request, "problem.html", user=person.user, csrf=person.csrf, status=status,
                  message=fault(lang, exc))  # fmt: skip


# ---- administrators ---------------------------------------------------------------------


@router.get("/app/admin/privacy")
async def requests_page(
    request: Request, person: AdminPage, db: DatabaseDep,
    who: Annotated[str, Query(max_length=100)] = "",
    reason: Annotated[str, Query(max_length=300)] = "",
    days: Annotated[int, Query(ge=7, le=730)] = 90,
) -> Response:  # fmt: skip
    """Requests to carry out, the retention job's state, and a person's attendance with a reason."""
    lang = page_language(request, person.user)
    s = services(request)
    last = _today()

    def read() -> tuple[Any, Any, ServerError | None, Any]:
        seen, problem = None, None
        with db.session() as session:
            if who:
                try:
                    seen = subject.attendance_for(
                        session, actor=person.user, username=who, reason=reason,
                        start=last - timedelta(days=days - 1), end=last)  # fmt: skip
                except ServerError as exc:  # refused, or no such person: nothing was written
                    problem = exc
            everyone = subject.requests(session)
        return everyone, seen, problem, last_runs(s.retention.ctx)

    everyone, seen, problem, runs = await asyncio.to_thread(read)
    return render(
        request, "admin/privacy.html", user=person.user, csrf=person.csrf, tabs=TABS,
        requests=everyone, seen=seen, who=who, reason=reason, days=days, kinds=KINDS,
        states=STATES, runs=runs, categories=CATEGORIES, settings=s.settings, outcomes=OUTCOMES,
        when=lambda ms: from_ms(ms, WITA),
        notice=fault(lang, problem) if problem else _notice(request, lang),
        notice_kind="error" if problem else "ok", status=status_of(problem) if problem else 200,
    )  # fmt: skip


@router.post("/app/admin/privacy/{request_id}")
async def decide(
    request: Request, person: AdminPage, db: DatabaseDep, request_id: RequestId,
    carry_out: Annotated[bool, Form()],
    answer: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """Carry a request out, or refuse it saying why."""
    lang = page_language(request, person.user)
    try:
        check_form(request, person, csrf)
        decision = PrivacyDecision(carry_out=carry_out, answer=answer)

        def save() -> None:
            with db.session() as session:
                subject.decide(session, admin=person.user, request_id=request_id,
                               decision=decision, now_ms=_now_ms())  # fmt: skip

        await asyncio.to_thread(save)
    except (ServerError, ValidationError) as exc:
        return _again(request, person, lang, exc)
    query = urlencode({"done": "decided", "x": request_id})
    return RedirectResponse(f"/app/admin/privacy?{query}", status_code=303)
