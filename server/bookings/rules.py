"""The rules a booking must pass, each refusal naming its rule.

A building's policy applies unless the desk's zone has its own. Days when Indonesia's
public holidays and the government's collective leave (cuti bersama) fall, from the
``holidays`` package, are closed, as are the days an admin closes by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from functools import lru_cache, partial
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.bookings.models import BookingPolicy, ClosedDay
from server.cache import cached
from server.exceptions import Refusal


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
    return cached(session, ("booking_policies",), (building, zone_id),
                  partial(_policy, session, building, zone_id))  # fmt: skip


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
def _national(year: int) -> dict[date, str]:
    days = holidays.country_holidays(
        "ID", years=year, categories=("public", "government"), language="id"
    )
    return dict(days.items())


def closed_reason(session: Session, building: str, day: date, policy: Policy) -> str | None:
    """Why ``day`` is closed (a holiday's name, or an admin's reason), or None."""
    if policy.public_holidays and day in _national(day.year):
        return _national(day.year)[day]
    return cached(session, ("closed_days",), (building, day),
                  partial(_closed_by_admins, session, building, day))  # fmt: skip


def _closed_by_admins(session: Session, building: str, day: date) -> str | None:
    row = session.scalar(
        select(ClosedDay).where(
            ClosedDay.day == day.isoformat(),
            or_(ClosedDay.building_id.is_(None), ClosedDay.building_id == building),
        )
    )
    return row.reason if row else None


def check_slot(
    session: Session,
    *,
    building: str,
    policy: Policy,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    """Duration, booking window, weekdays, opening hours and closed days."""
    minutes = (end - start).total_seconds() / 60
    if minutes <= 0:
        raise Refusal("slot", "the end must be after the start")
    if minutes < policy.min_minutes:
        raise Refusal("min_duration", f"a booking lasts at least {policy.min_minutes} minutes")
    if minutes > policy.max_minutes:
        raise Refusal("max_duration", f"a booking lasts at most {policy.max_minutes} minutes")
    if end <= now:
        raise Refusal("in_the_past", "the slot is over")
    if start > now + timedelta(days=policy.window_days):
        raise Refusal(
            "booking_window", f"bookings open {policy.window_days} days ahead at the most"
        )
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    while day <= (local_end - timedelta(microseconds=1)).date():
        if day.weekday() not in policy.days:
            raise Refusal("weekday", f"{day:%A} {day.isoformat()} is not a booking day here")
        reason = closed_reason(session, building, day, policy)
        if reason:
            raise Refusal("closed_day", f"{day.isoformat()} is closed: {reason}")
        day += timedelta(days=1)
    if policy.open_minute > 0 or policy.close_minute < 24 * 60:
        opens = datetime.combine(local_start.date(), datetime.min.time(), tz) + timedelta(
            minutes=policy.open_minute
        )
        closes = (
            opens - timedelta(minutes=policy.open_minute) + timedelta(minutes=policy.close_minute)
        )
        if local_start < opens or local_end > closes:
            raise Refusal(
                "working_hours",
                f"bookings run {opens:%H:%M}-{closes:%H:%M} ({tz.key}); "
                f"the slot is {local_start:%H:%M}-{local_end:%H:%M}",
            )
