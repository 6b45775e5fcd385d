"""An agency's own booking rules and leave days, set on its administrators' page.

Shown under Admin -> Instansi with each agency the person administers: each rule left
empty is every building's; a rule given narrows it for the agency's people.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from server.api.deps import DatabaseDep
from server.calendar import admin as calendar
from server.calendar.dates import Day
from server.calendar.schemas import AgencyPolicyDoc, ClosedDayDoc
from server.web.admin.agencies import agencies_page, saved
from server.web.admin.common import Answer, fault
from server.web.browser import PeopleAdminForm
from server.web.render import Say, page_language

router = APIRouter(include_in_schema=False)


class AgencyRulesForm(BaseModel):
    """The form's fields: an empty one is the building's rule."""

    window_days: str = Field(default="", max_length=4)
    max_per_day: str = Field(default="", max_length=3)
    max_per_week: str = Field(default="", max_length=3)
    checkin_grace_minutes: str = Field(default="", max_length=4)
    min_office_days: str = Field(default="", max_length=1)
    open: str = Field(default="", max_length=5)
    close: str = Field(default="", max_length=5)
    weekdays: list[int] = Field(default_factory=list, max_length=7)

    def doc(self) -> dict[str, Any]:
        """The rules as AgencyPolicyDoc takes them (all seven days, or none: the building's)."""

        def minute(text: str) -> int | None:
            if not text.strip():
                return None
            t = time.fromisoformat(text.strip())
            return t.hour * 60 + t.minute

        numbers = (
            "window_days",
            "max_per_day",
            "max_per_week",
            "checkin_grace_minutes",
            "min_office_days",
        )
        found: dict[str, Any] = {n: getattr(self, n).strip() or None for n in numbers}
        found["open_minute"], found["close_minute"] = minute(self.open), minute(self.close)
        days = sorted(set(self.weekdays))
        found["weekdays"] = days if 0 < len(days) < 7 else None
        return found


@router.post("/app/admin/agencies/{code}/rules")
async def agency_rules(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    code: Annotated[str, Path(max_length=32)],
    form: Annotated[AgencyRulesForm, Form()],
) -> Response:
    """Set the agency's own rules for its people."""
    try:
        doc = AgencyPolicyDoc.model_validate(form.doc())
    except (ValidationError, ValueError) as exc:
        said = fault(page_language(request, person.user), exc)
        return await agencies_page(request, person, db, Answer(said, "error", 400))

    def save(session: Any) -> object:
        return calendar.set_agency_rules(
            session, actor=person.user.username, agency=code, doc=doc, scope=person.user.scope
        )

    return await saved(request, person, db, save, "agency_rules_saved", code)


@router.post("/app/admin/agencies/{code}/closed-days")
async def agency_leave_day(
    request: Request,
    person: PeopleAdminForm,
    db: DatabaseDep,
    code: Annotated[str, Path(max_length=32)],
    day: Annotated[Day, Form()],
    reason: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Close a day for the agency's people (its own leave), in every building."""
    doc = ClosedDayDoc(day=day, reason=reason.strip() or reason, agency=code)

    def save(session: Any) -> object:
        return calendar.close_day(
            session, actor=person.user.username, doc=doc, scope=person.user.scope
        )

    said = Say(page_language(request, person.user)).day(day, "medium")
    return await saved(request, person, db, save, "agency_day_closed", said)
