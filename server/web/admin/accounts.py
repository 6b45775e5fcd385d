"""The administrators' accounts page: make an account, change its role, buildings or state."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from server.agencies import service as agencies
from server.api.deps import DatabaseDep
from server.auth.schemas import UserCreate, UserUpdate
from server.auth.service import (
    AccountSearch,
    count_users,
    create_user,
    grantable,
    list_users,
    update_user,
)
from server.bookings.visibility import audit_read
from server.calendar.dates import from_ms
from server.exceptions import ServerError
from server.i18n import gettext
from server.web.admin.common import Answer, Said, back, fault, run, show
from server.web.browser import PeopleAdminForm, PeopleAdminPage
from server.web.render import ROLES, page_language

router = APIRouter(include_in_schema=False)


PAGE = 50


@router.get("/app/admin")
async def accounts(
    request: Request,
    person: PeopleAdminPage,
    db: DatabaseDep,
    answer: Said,
    q: Annotated[str, Query(max_length=100)] = "",
    agency: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The accounts, found by words and agency, a page at a time; a new account."""
    search = AccountSearch(q.strip(), agency or None, (page - 1) * PAGE, PAGE)

    def read() -> tuple[list[Any], int, list[Any], list[str]]:
        with db.session() as session:
            audit_read(session, actor=person.user, person="*", what="accounts", reason="")
            reached = [a for a in agencies.agencies(session) if person.user.reaches(a.id)]
            return (
                list_users(session, search, person.user),
                count_users(session, search, person.user),
                reached,
                sorted({u for a in reached for u in agencies.units(session, a.id)}),
            )

    lang = page_language(request, person.user)
    users, total, found, units = await run(read)
    last = max(1, -(-total // PAGE))

    def link(n: int) -> str:
        asked = (("q", q.strip()), ("agency", agency), ("page", n))
        return "/app/admin?" + urlencode({k: v for k, v in asked if v})

    return show(
        request,
        person,
        "admin/accounts.html",
        users=users,
        total=total,
        search={"q": q.strip(), "agency": agency},
        pages={
            "now": min(page, last),
            "last": last,
            "before": link(page - 1) if page > 1 else None,
            "after": link(page + 1) if page < last else None,
        },
        notice=answer.notice,
        notice_kind=answer.kind,
        status=answer.status,
        roles=[(k, gettext(lang, ROLES[k])) for k in grantable(person.user)],
        agencies=[(a.id, a.said(lang)) for a in found],
        units=units,
        any_agency=person.user.scope is None,
        agency_names={a.id: a.said(lang) for a in found},
        seen=lambda ms: from_ms(ms, db.zone).strftime("%d/%m/%Y %H:%M") if ms else "—",
    )


@router.post("/app/admin/users")
async def new_account(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    username: Annotated[str, Form(max_length=100)],
    display_name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=32)],
    password: Annotated[str, Form(max_length=200)],
    team: Annotated[str, Form(max_length=100)] = "",
    agency: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Create an account (its password set here; the person changes it later)."""
    lang = page_language(request, person.user)
    try:
        new = UserCreate.model_validate(
            {
                "username": username.strip().lower(),
                "role": role,
                "display_name": display_name,
                "password": password,
                "team": team or None,
                "agency": agency or None,
            }
        )

        def make() -> None:
            with db.session() as session:
                create_user(session, actor=person.user, new=new)

        await run(make)
    except (ValidationError, ServerError) as exc:
        return await accounts(request, person, db, Answer(fault(lang, exc), "error", 400))
    return back(request, person, "/app/admin", "user_created", new.username)


@router.post("/app/admin/users/{username}")
async def change_account(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    username: str,
    role: Annotated[str, Form(max_length=32)],
    active: Annotated[str, Form(max_length=8)] = "",
    agency: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Change an account's role or agency, or stop (or allow again) its sign-in."""
    lang = page_language(request, person.user)
    try:
        change = UserUpdate.model_validate(
            {"role": role, "active": active == "on", "agency": agency or None}
        )

        def save() -> None:
            with db.session() as session:
                update_user(session, actor=person.user, username=username, change=change)

        await run(save)
    except (ValidationError, ServerError) as exc:
        return await accounts(request, person, db, Answer(fault(lang, exc), "error", 400))
    return back(request, person, "/app/admin", "user_updated", username)
