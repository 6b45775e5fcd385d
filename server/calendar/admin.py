"""Admins set the calendar: a building's or zone's rules, and the days it is closed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.calendar.hours import building_tz
from server.calendar.models import BookingPolicy, ClosedDay
from server.calendar.policy import national_holidays
from server.calendar.schemas import ClosedDayDoc, PolicyDoc
from server.exceptions import ConflictError, NotFoundError
from server.spaces.models import Zone


def set_policy(
    session: Session, *, actor: str, building: str, zone: str | None, doc: PolicyDoc
) -> PolicyDoc:
    """Set the rules of a building, or of one zone (which then wins over the building's)."""
    building_tz(session, building)  # 404 for an unknown building
    zone_id = None
    if zone is not None:
        row = session.scalar(select(Zone).where(Zone.building_id == building, Zone.code == zone))
        if row is None:
            raise NotFoundError(f"no zone {zone!r} in building {building!r}")
        zone_id = row.id
    policy = session.scalar(
        select(BookingPolicy).where(
            BookingPolicy.building_id == building,
            BookingPolicy.zone_id.is_(None)
            if zone_id is None
            else BookingPolicy.zone_id == zone_id,
        )
    )
    values = {**doc.model_dump(), "weekdays": ",".join(str(d) for d in sorted(doc.weekdays))}
    if policy is None:
        session.add(BookingPolicy(building_id=building, zone_id=zone_id, **values))
    else:
        for key, value in values.items():
            setattr(policy, key, value)
    record(
        session,
        actor=actor,
        action="booking.policy",
        target_kind="building",
        target_id=building,
        zone=zone,
        **doc.model_dump(),
    )
    return doc


def close_day(session: Session, *, actor: str, doc: ClosedDayDoc) -> ClosedDayDoc:
    """Close a day in one building, or in all; ConflictError when it already is."""
    if doc.building is not None:
        building_tz(session, doc.building)  # 404 for an unknown building
    same = select(ClosedDay).where(
        ClosedDay.day == doc.day.isoformat(),
        ClosedDay.building_id.is_(None)
        if doc.building is None
        else ClosedDay.building_id == doc.building,
    )
    if session.scalar(same) is not None:
        where = f"building {doc.building!r}" if doc.building else "every building"
        raise ConflictError(f"{doc.day} is already closed in {where}")
    session.add(ClosedDay(building_id=doc.building, day=doc.day.isoformat(), reason=doc.reason))
    record(
        session,
        actor=actor,
        action="booking.closed_day",
        target_kind="day",
        target_id=doc.day.isoformat(),
        building=doc.building,
        reason=doc.reason,
    )
    return doc


def closed_days(session: Session, *, year: int, building: str | None) -> list[ClosedDayDoc]:
    """The year's public holidays and collective leave, and the days closed by hand."""
    days = [ClosedDayDoc(day=d, reason=name) for d, name in sorted(national_holidays(year).items())]
    for row in session.scalars(select(ClosedDay).where(ClosedDay.day.like(f"{year}-%"))):
        if building is None or row.building_id in (None, building):
            days.append(
                ClosedDayDoc(
                    day=date.fromisoformat(row.day), reason=row.reason, building=row.building_id
                )
            )
    return sorted(days, key=lambda d: d.day)
