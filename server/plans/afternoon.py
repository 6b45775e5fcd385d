"""The afternoon before: which floors could be set back tomorrow, told to the building's operators.

From ``AFTERNOON_HOUR`` (the building's time), tomorrow's consolidation is worked out from
its desk bookings and the people who plan to come without one (``server.plans.forecast``):
the floors whose people could sit on floors in use anyway, each with its typical kWh a day.
The building's facility managers are told once, by their channels, so they can ask people
to move before the day begins (nobody is moved by the system).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from server.auth.models import User
from server.calendar.hours import zone_for
from server.clock import now_utc
from server.db import Database
from server.energy.consolidation import Consolidation, consolidate
from server.energy.rollup import Rollups
from server.i18n import DEFAULT, gettext
from server.notify.service import Message, Recipient, notifying, send
from server.plans.forecast import AFTERNOON_HOUR, planned_by_floor
from server.spaces.models import Building


def said(found: Consolidation, lang: str) -> tuple[str, str]:
    """The message's title and body in ``lang``."""
    kwh = sum(s.typical_kwh or 0.0 for s in found.suggestions)
    title = gettext(lang, "Tomorrow ({day}): {n} floor(s) could be set back all day").format(
        day=found.day.isoformat(), n=len(found.suggestions)
    )
    lines = []
    for s in found.suggestions:
        where = ", ".join(f"{n} → {floor}" for floor, n in s.move_to.items())
        line = gettext(lang, "Floor {floor}: move {n} ({where})").format(
            floor=s.floor, n=s.bookings, where=where
        )
        if s.typical_kwh:
            line += " · " + gettext(lang, "about {kwh} kWh").format(kwh=s.typical_kwh)
        lines.append(line)
    if kwh:
        lines.append(gettext(lang, "Expected saving: about {kwh} kWh").format(kwh=round(kwh, 1)))
    return title, "\n".join(lines)


async def tell_tomorrow(db: Database, rollups: Rollups, now: datetime | None = None) -> int:
    """Tell each building's operators, once, of tomorrow's consolidation (from the afternoon).

    How many people were told.
    """
    now = now or now_utc()
    told = 0
    for building, tomorrow, planned in await run_in_threadpool(_due, db, now):
        found = await consolidate(db, rollups, building=building, day=tomorrow, planned=planned)
        if found.suggestions:
            told += await run_in_threadpool(_tell, db, found, now)
    return told


def _due(db: Database, now: datetime) -> list[tuple[str, date, dict[str, float]]]:
    """The buildings whose afternoon it is, their tomorrow, and its planned people per floor."""
    out = []
    with db.session(commit=False) as session:
        for building in session.scalars(select(Building.id).order_by(Building.id)):
            local = now.astimezone(zone_for(session, building))
            if local.hour >= AFTERNOON_HOUR:
                tomorrow = local.date() + timedelta(days=1)
                out.append((building, tomorrow, planned_by_floor(session, building, tomorrow)))
    return out


def _tell(db: Database, found: Consolidation, now: datetime) -> int:
    with db.session() as session:
        base = notifying(session)
        root = base.public_url.rstrip("/") if base else ""
        url = f"{root}/app/manage/energy?building={found.building}"
        local = now.astimezone(zone_for(session, found.building))
        told = 0
        for user in session.scalars(
            select(User).where(User.role == "facility_manager", User.active)
        ):
            title, body = said(found, user.language or DEFAULT)
            message = Message(
                key=f"consolidation:{found.building}:{found.day.isoformat()}",
                title=title,
                body=body,
                url=url,
            )
            to = Recipient(user.id, user.email)
            told += bool(send(session, user=to, message=message, local=local))
        return told
