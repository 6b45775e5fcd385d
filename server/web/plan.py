"""My work plan, and my unit's week.

Where I work each day (the usual week and the days that differ), how far ahead my office
days are booked, and what my agency's rules say of the plan; the unit's week for its head
and for colleagues who opted in; an agency's expected days for its managers. The same
services as the API's ``/api/v1/plans``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from server.agencies import service as agencies
from server.api.deps import DatabaseDep, SettingsDep
from server.calendar.dates import Day, today_in
from server.i18n import WEEKDAYS, gettext
from server.plans import follow as following
from server.plans import service as plans
from server.plans.schemas import PLACE_NAMES, PLACES, DayDoc, WeekDoc
from server.roles import REPORTERS
from server.web import notices
from server.web.browser import Person, PersonForm
from server.web.render import Say, page_language, render
from server.web.words import STATES, translated

router = APIRouter(include_in_schema=False)

AHEAD = (0, 1, 2, 3, 5, 7, 10, 14)
"""The choices of how far ahead office days are booked."""


class WeekForm(BaseModel):
    """The usual week as the page's form sends it (an empty choice: not planned)."""

    d0: str = Field(default="", max_length=16)
    d1: str = Field(default="", max_length=16)
    d2: str = Field(default="", max_length=16)
    d3: str = Field(default="", max_length=16)
    d4: str = Field(default="", max_length=16)
    d5: str = Field(default="", max_length=16)
    d6: str = Field(default="", max_length=16)
    zone: str = Field(default="", max_length=32)
    desk: str = Field(default="", max_length=32)
    book_ahead_days: int = Field(default=0, ge=0, le=28)

    def doc(self) -> WeekDoc:
        """The week as the service takes it (WeekDoc refuses a place it does not know)."""
        week = [getattr(self, f"d{i}") or None for i in range(7)]
        return WeekDoc.model_validate(
            {
                "week": week,
                "zone": self.zone or None,
                "desk": self.desk.strip() or None,
                "book_ahead_days": self.book_ahead_days,
            }
        )


def _weekdays(lang: str) -> list[tuple[int, str]]:
    return [(i, gettext(lang, WEEKDAYS[i])) for i in range(7)]


@router.get("/app/plan")
async def plan_page(
    request: Request, person: Person, db: DatabaseDep, start: Day | None = None
) -> Response:
    """My plan: the usual week, the next two weeks day by day, and what misses the rules."""
    lang = page_language(request, person.user)

    def read() -> tuple[Any, list[tuple[str, str]], bool]:
        with db.session(commit=False) as session:
            mine = plans.plan(session, actor=person.user, start=start, count=14, language=lang)
            heads = bool(plans.supervised(session, person.user))
            return mine, plans.zone_choices(session, actor=person.user), heads

    mine, zones, heads = await run_in_threadpool(read)
    return render(
        request,
        "plan.html",
        user=person.user,
        csrf=person.csrf,
        plan=mine,
        zones=zones,
        places=PLACES,
        place_names=translated(lang, PLACE_NAMES),
        states=translated(lang, STATES),
        weekdays=_weekdays(lang),
        ahead=AHEAD,
        heads=heads,
    )


@router.post("/app/plan/week")
async def save_week(
    request: Request,
    person: PersonForm,
    db: DatabaseDep,
    form: Annotated[WeekForm, Form()],
) -> Response:
    """Keep my usual week; office days within reach get a desk, days away lose the plan's."""
    lang = page_language(request, person.user)
    doc = form.doc()

    def act() -> following.Followed:
        with db.session() as session:
            plans.set_week(session, actor=person.user, doc=doc)
            return following.follow(session, user=plans.user_row(session, person.user.username))

    done = await run_in_threadpool(act)
    return notices.redirect(request, "/app/plan", _said(lang, done, gettext(lang, "Saved.")))


@router.post("/app/plan/days/{day}")
async def save_day(
    request: Request,
    person: PersonForm,
    db: DatabaseDep,
    day: Day,
    place: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Plan one day otherwise (empty: as the week says again)."""
    lang = page_language(request, person.user)
    doc = DayDoc.model_validate({"place": place or None, "note": note.strip() or None})

    def act() -> following.Followed:
        with db.session() as session:
            plans.set_day(session, actor=person.user, day=day, doc=doc)
            user = plans.user_row(session, person.user.username)
            return following.follow(session, user=user, days=[day])

    done = await run_in_threadpool(act)
    said = gettext(lang, "{day}: saved.").format(day=Say(lang).day(day, "EEEE, d MMM"))
    monday = day - timedelta(days=day.weekday())
    soon = day < today_in(db.zone) + timedelta(days=14)
    back = "/app/plan" if soon else f"/app/plan?start={monday.isoformat()}"
    return notices.redirect(request, back, _said(lang, done, said))


def _said(lang: str, done: following.Followed, first: str) -> str:
    """What the save did to bookings, in the person's words."""
    say = Say(lang)
    parts = [first]
    for day, desk in done.booked:
        when = say.day(day, "EEEE, d MMM")
        parts.append(gettext(lang, "Desk {desk} booked for {day}.").format(desk=desk, day=when))
    for day, desk in done.released:
        when = say.day(day, "EEEE, d MMM")
        said = gettext(lang, "Desk {desk} on {day} released (you plan elsewhere).")
        parts.append(said.format(desk=desk, day=when))
    for day, why in done.failed:
        when = say.day(day, "EEEE, d MMM")
        parts.append(gettext(lang, "No desk booked for {day}: {why}").format(day=when, why=why))
    return " ".join(parts)


@router.get("/app/plan/team")
async def team_page(
    request: Request,
    person: Person,
    db: DatabaseDep,
    settings: SettingsDep,
    unit: Annotated[str | None, Query(max_length=100)] = None,
    agency: Annotated[str | None, Query(max_length=32)] = None,
    start: Day | None = None,
) -> Response:
    """My unit's week (its head sees everyone), and an agency's expected days (managers)."""
    lang = page_language(request, person.user)
    user = person.user

    def read() -> dict[str, Any]:
        with db.session() as session:
            heads = [u.name for u in plans.supervised(session, user)]
            week = None
            if unit or user.team or heads:
                week = plans.team_week(
                    session, actor=user, unit=unit or (heads[0] if heads else None), start=start
                )
            counts, reach, chosen = None, [], None
            if user.role in REPORTERS:
                reach = [a for a in agencies.agencies(session) if user.reaches(a.id)]
                chosen = agency or user.scope or (reach[0].id if reach else None)
                if chosen is not None:
                    counts = plans.attendance(
                        session,
                        actor=user,
                        agency=chosen,
                        start=start,
                        count=14,
                        min_group=settings.privacy_min_group,
                    )
            return {
                "week": week,
                "heads": heads,
                "counts": counts,
                "reach": reach,
                "chosen": chosen,
            }

    found = await run_in_threadpool(read)
    return render(
        request,
        "plan_team.html",
        user=user,
        place_names=translated(lang, PLACE_NAMES),
        places=PLACES,
        weekdays=_weekdays(lang),
        min_group=settings.privacy_min_group,
        **found,
    )
