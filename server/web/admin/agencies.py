"""The agencies (instansi) whose people work in the buildings: listed, added and changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from server.agencies import service
from server.agencies.schemas import AgencyCreate, AgencyDoc
from server.api.deps import DatabaseDep
from server.api.errors import status_of
from server.calendar import admin as calendar
from server.exceptions import ServerError
from server.i18n import WEEKDAYS, gettext
from server.plans import units as plan_units
from server.plans.schemas import UnitDoc
from server.web.admin.common import Answer, Said, back, fault, run, show
from server.web.browser import AdminForm, PeopleAdminForm, PeopleAdminPage
from server.web.render import page_language

router = APIRouter(include_in_schema=False)


class AgencyForm(BaseModel):
    """The form's fields: an empty one is none."""

    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    controller: str = Field(default="", max_length=300)
    contact: str = Field(default="", max_length=300)

    def doc(self) -> dict[str, Any]:
        """The fields as the agency schemas take them."""
        return {
            "name": self.name.strip(),
            "name_en": self.name_en.strip() or None,
            "controller": self.controller.strip() or None,
            "contact": self.contact.strip() or None,
        }


class NewAgencyForm(AgencyForm):
    """A new agency's form: its code too."""

    code: str = Field(max_length=32)


async def saved(
    request: Request, person: Any, db: Any, save: Callable[[Any], object], done: str, name: str
) -> Response:
    """Run ``save`` in a session; back to the list saying so, or the list saying what failed.

    (The agency's rules and leave days, server.web.admin.agency_rules, answer the same way.)
    """
    lang = page_language(request, person.user)
    try:

        def run_save() -> None:
            with db.session() as session:
                save(session)

        await run(run_save)
    except ServerError as exc:
        status = status_of(exc, default=400)
        return await agencies_page(request, person, db, Answer(fault(lang, exc), "error", status))
    return back(request, person, "/app/admin/agencies", done, name)


@router.get("/app/admin/agencies")
async def agencies_page(
    request: Request, person: PeopleAdminPage, db: DatabaseDep, answer: Said
) -> Response:
    """Every agency, who answers for its people's data; a new agency.

    An agency's administrator sees their own agency, to change it.
    """

    def read() -> list[Any]:
        with db.session(commit=False) as session:
            return [
                (
                    a,
                    service.units(session, a.id),
                    *calendar.agency_calendar(session, a.id),
                    plan_units.units(session, a.id),
                )
                for a in service.agencies(session)
                if person.user.reaches(a.id)
            ]

    return show(
        request,
        person,
        "admin/agencies.html",
        agencies=await run(read),
        may_add=person.user.scope is None,
        weekdays=[(i, gettext(page_language(request, person.user), WEEKDAYS[i])) for i in range(7)],
        hhmm=lambda m: "" if m is None else f"{m // 60:02d}:{m % 60:02d}",
        notice=answer.notice,
        notice_kind=answer.kind,
        status=answer.status,
    )


@router.post("/app/admin/agencies")
async def agency_create(
    request: Request, person: AdminForm, db: DatabaseDep, form: Annotated[NewAgencyForm, Form()]
) -> Response:
    """Add an agency (its code is the one layouts and accounts name it by)."""
    try:
        new = AgencyCreate.model_validate({"id": form.code.strip().lower(), **form.doc()})
    except ValidationError as exc:
        said = fault(page_language(request, person.user), exc)
        return await agencies_page(request, person, db, Answer(said, "error", 400))

    def save(session: Any) -> object:
        return service.create(session, actor=person.user.username, new=new)

    return await saved(request, person, db, save, "agency_created", new.name)


@router.post("/app/admin/agencies/{code}")
async def agency_update(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    code: Annotated[str, Path(max_length=32)],
    form: Annotated[AgencyForm, Form()],
) -> Response:
    """Change an agency's names, or who answers for its people's data."""
    try:
        doc = AgencyDoc.model_validate(form.doc())
    except ValidationError as exc:
        said = fault(page_language(request, person.user), exc)
        return await agencies_page(request, person, db, Answer(said, "error", 400))

    def save(session: Any) -> object:
        return service.update(
            session, actor=person.user.username, code=code, doc=doc, scope=person.user.scope
        )

    return await saved(request, person, db, save, "agency_updated", doc.name)


@router.post("/app/admin/agencies/{code}/units")
async def unit_add(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    code: Annotated[str, Path(max_length=32)],
    name: Annotated[str, Form(max_length=100)],
) -> Response:
    """Add a unit (unit kerja) to the agency."""

    def save(session: Any) -> object:
        return service.add_unit(
            session, actor=person.user.username, agency=code, name=name, scope=person.user.scope
        )

    return await saved(request, person, db, save, "unit_added", name.strip())


@router.post("/app/admin/agencies/{code}/units/{unit}")
async def unit_plans(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    code: Annotated[str, Path(max_length=32)],
    unit: Annotated[str, Path(max_length=100)],
    supervisor: Annotated[str, Form(max_length=100)] = "",
    team_days: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """Set a unit's head (atasan), who sees its week of work plans, and its team days."""
    doc = UnitDoc(supervisor=supervisor.strip() or None, team_days=team_days or [])

    def save(session: Any) -> object:
        return plan_units.set_unit(
            session,
            actor=person.user.username,
            agency=code,
            name=unit,
            doc=doc,
            scope=person.user.scope,
        )

    return await saved(request, person, db, save, "unit_plans_saved", unit)
