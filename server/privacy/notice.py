"""The privacy notice's content, from the inventory, the settings and the retention runs.

Nothing here is written by hand per deployment: a retention the settings change, or a
category the job could not enforce, changes what the notice says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from server.agencies import service as agencies
from server.agencies.schemas import AgencyPublic
from server.calendar.dates import from_ms
from server.config import ServerSettings
from server.i18n import gettext
from server.privacy.inventory import CATEGORIES
from server.privacy.models import RetentionRun


@dataclass(frozen=True, slots=True)
class NoticeEntry:
    """One category as the notice says it, in one language."""

    key: str
    name: str
    what: str
    where: str
    purpose: str
    basis: str
    who: str
    retention_days: int | None
    kept: str
    after: str
    enforced: datetime | None
    problem: str | None


def entries(
    settings: ServerSettings, runs: dict[str, RetentionRun], lang: str
) -> list[NoticeEntry]:
    """Every category of the inventory, with how long it is kept and whether that held."""
    _ = lambda m: gettext(lang, m)  # noqa: E731
    tz = ZoneInfo(settings.timezone)
    out = []
    for c in CATEGORIES:
        days = c.days(settings)
        if days is None:
            kept = _(c.kept)
        elif days == 0:
            kept = _("Kept without a time limit (the operator's setting {name} is 0).").format(
                name=c.retention
            )
        else:
            kept = _("{n} days.").format(n=days)
        run = runs.get(c.key)
        enforced = from_ms(run.enforced_ms, tz) if run and run.enforced_ms else None
        problem = None
        if days and run is not None and run.error is not None:
            problem = run.error
        out.append(
            NoticeEntry(
                key=c.key,
                name=_(c.name),
                what=_(c.what),
                where=_(c.where),
                purpose=_(c.purpose),
                basis=_(c.basis),
                who=_(c.who),
                retention_days=days,
                kept=kept,
                after=_(c.after),
                enforced=enforced,
                problem=problem,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Responsible:
    """Who answers for whose personal data: an agency's people (``agency``), else everyone."""

    agency: str | None
    """The agency's name in the page's language; None for the platform's own controller."""
    controller: str | None
    contact: str | None


def responsible(
    session: Session, settings: ServerSettings, lang: str, agency: str | None
) -> list[Responsible]:
    """The controllers the notice names, for a person of ``agency`` or for anyone.

    For a person of an agency, their agency's alone; for anyone else, the platform's and then
    each agency's (UU PDP: each agency controls its own staff's data). An agency that named
    none falls back to the platform's.
    """
    platform = Responsible(
        None, settings.privacy_controller or None, settings.privacy_contact or None
    )

    def of(a: AgencyPublic) -> Responsible:
        return Responsible(
            a.said(lang), a.controller or platform.controller, a.contact or platform.contact
        )

    if agency is not None:
        return [of(agencies.agency(session, agency))]
    return [platform, *(of(a) for a in agencies.agencies(session))]
