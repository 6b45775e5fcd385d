"""A building's rules for its days, and the days it is closed.

A building's policy applies unless a zone has its own; an agency's own rules narrow it for
that agency's people, and its own leave days are closed to them. Days when Indonesia's public
holidays and the government's collective leave (cuti bersama) fall, from the ``holidays``
package, are closed, as are the days an admin closes by hand. The booking limits (window,
duration, per day and week) live in the same policy, as admins set them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import lru_cache, partial

import holidays
from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from server.cache import cached
from server.calendar.models import AgencyPolicy, BookingPolicy, ClosedDay


@dataclass(frozen=True)
class Policy:
    """The booking rules in force for a desk or room."""

    window_days: int = 14
    min_minutes: int = 30
    max_minutes: int = 12 * 60
    max_per_day: int = 1
    max_per_week: int = 5
    open_minute: int = 7 * 60
    close_minute: int = 19 * 60
    weekdays: str = "0,1,2,3,4"
    checkin_grace_minutes: int = 15
    release_after_vacant_minutes: int = 60
    public_holidays: bool = True
    agency: str | None = None
    """Whose people the rules are for: their agency's own rules narrow the building's, and
    its own leave days are closed to them (None: the building's rules alone)."""

    @property
    def days(self) -> set[int]:
        """Bookable weekdays, Monday = 0."""
        return {int(d) for d in self.weekdays.split(",") if d.strip()}


POLICY_FIELDS = tuple(f.name for f in fields(Policy) if f.name != "agency")
AGENCY_RULES = (
    "window_days",
    "max_per_day",
    "max_per_week",
    "open_minute",
    "close_minute",
    "weekdays",
    "checkin_grace_minutes",
)
"""The rules an agency may set for its people (each only narrows the building's)."""


def policy_for(
    session: Session, building: str, zone_id: int | None, agency: str | None = None
) -> Policy:
    """The zone's policy if it has one, else the building's, else the defaults.

    For a person of ``agency``, narrowed by its own rules (``layered``), with its own leave
    days closed.
    """
    base = cached(
        session,
        ("booking_policies",),
        (building, zone_id),
        partial(_policy, session, building, zone_id),
    )
    if agency is None:
        return base
    own = cached(session, ("agency_policies",), agency, partial(agency_rules, session, agency))
    return layered(base, own, agency)


def agency_rules(session: Session, agency: str) -> dict[str, int | str]:
    """The rules ``agency`` set for its people (those it left to the building are absent)."""
    row = session.get(AgencyPolicy, agency)
    if row is None:
        return {}
    return {n: getattr(row, n) for n in AGENCY_RULES if getattr(row, n) is not None}


def layered(base: Policy, own: Mapping[str, int | str], agency: str) -> Policy:
    """The building's ``base`` rules narrowed by an agency's ``own``: a rule can only tighten.

    A shorter window, fewer bookings a day or a week, a shorter check-in grace, a later
    opening, an earlier closing, and only the days both allow.
    """
    tighter: dict[str, int | str] = {}
    for name, value in own.items():
        if name == "weekdays":
            days = base.days & {int(d) for d in str(value).split(",") if d.strip()}
            tighter[name] = ",".join(str(d) for d in sorted(days))
        elif name == "open_minute":
            tighter[name] = max(base.open_minute, int(value))
        else:
            tighter[name] = min(int(getattr(base, name)), int(value))
    return replace(base, agency=agency, **tighter)  # type: ignore[arg-type]


def _policy(session: Session, building: str, zone_id: int | None) -> Policy:
    rows = session.scalars(
        select(BookingPolicy).where(
            BookingPolicy.building_id == building,
            or_(BookingPolicy.zone_id.is_(None), BookingPolicy.zone_id == zone_id),
        )
    ).all()
    row = next((r for r in rows if r.zone_id is not None), None) or next(iter(rows), None)
    if row is None:
        return Policy()
    return Policy(**{name: getattr(row, name) for name in POLICY_FIELDS})


@lru_cache(maxsize=64)
def national_holidays(year: int) -> dict[date, str]:
    """Indonesia's public holidays and collective leave (cuti bersama) in ``year``."""
    days = holidays.country_holidays(
        "ID", years=year, categories=("public", "government"), language="id"
    )
    return dict(days.items())


def closed_reason(session: Session, building: str, day: date, policy: Policy) -> str | None:
    """Why ``day`` is closed (a holiday's name, or an admin's reason), or None."""
    if policy.public_holidays and day in national_holidays(day.year):
        return national_holidays(day.year)[day]
    return cached(
        session,
        ("closed_days",),
        (building, day, policy.agency),
        partial(_closed_by_admins, session, building, day, policy.agency),
    )


def _closed_by_admins(session: Session, building: str, day: date, agency: str | None) -> str | None:
    row = session.scalar(
        select(ClosedDay)
        .where(
            ClosedDay.day == day.isoformat(),
            or_(
                and_(
                    ClosedDay.agency_id.is_(None),
                    or_(ClosedDay.building_id.is_(None), ClosedDay.building_id == building),
                ),
                ClosedDay.agency_id == agency if agency is not None else false(),
            ),
        )
        .order_by(ClosedDay.agency_id.is_(None).desc())
    )
    return row.reason if row else None
