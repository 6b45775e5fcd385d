"""A building's rules for its days, and the days it is closed.

A building's policy applies unless a zone has its own. Days when Indonesia's public
holidays and the government's collective leave (cuti bersama) fall, from the ``holidays``
package, are closed, as are the days an admin closes by hand. The booking limits (window,
duration, per day and week) live in the same policy, as admins set them together.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache, partial

import holidays
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.cache import cached
from server.calendar.models import BookingPolicy, ClosedDay


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

    @property
    def days(self) -> set[int]:
        """Bookable weekdays, Monday = 0."""
        return {int(d) for d in self.weekdays.split(",") if d.strip()}


POLICY_FIELDS = tuple(f.name for f in fields(Policy))


def policy_for(session: Session, building: str, zone_id: int | None) -> Policy:
    """The zone's policy if it has one, else the building's, else the defaults."""
    return cached(
        session,
        ("booking_policies",),
        (building, zone_id),
        partial(_policy, session, building, zone_id),
    )


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
        (building, day),
        partial(_closed_by_admins, session, building, day),
    )


def _closed_by_admins(session: Session, building: str, day: date) -> str | None:
    row = session.scalar(
        select(ClosedDay).where(
            ClosedDay.day == day.isoformat(),
            or_(ClosedDay.building_id.is_(None), ClosedDay.building_id == building),
        )
    )
    return row.reason if row else None
