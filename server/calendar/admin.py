"""Admins set the calendar: a building's or zone's rules, and the days it is closed.

An agency's administrators set their agency's own rules and leave days.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.agencies import service as agencies
from server.audit.service import record
from server.calendar.dates import today_in
from server.calendar.hours import building_tz, platform_zone
from server.calendar.models import AgencyPolicy, BookingPolicy, ClosedDay
from server.calendar.policy import agency_rules, national_holidays
from server.calendar.schemas import AgencyPolicyDoc, ClosedDayDoc, PolicyDoc
from server.exceptions import ConflictError, Forbidden, NotFoundError
from server.i18n import T
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


def set_agency_rules(
    session: Session, *, actor: str, agency: str, doc: AgencyPolicyDoc, scope: str | None
) -> AgencyPolicyDoc:
    """Set an agency's own rules for its people (``scope`` as in ``agencies.update``)."""
    _agency_of(agency, scope)
    agencies.known(session, agency)
    values = doc.model_dump()
    if doc.weekdays is not None:
        values["weekdays"] = ",".join(str(d) for d in sorted(set(doc.weekdays)))
    row = session.get(AgencyPolicy, agency)
    if row is None:
        session.add(AgencyPolicy(agency_id=agency, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    record(
        session,
        actor=actor,
        action="booking.agency_policy",
        target_kind="agency",
        target_id=agency,
        agency=agency,
        **doc.model_dump(exclude_none=True),
    )
    return doc


def agency_rules_doc(session: Session, agency: str) -> AgencyPolicyDoc:
    """An agency's own rules as the API shows them (empty: each building's alone)."""
    agencies.known(session, agency)
    rules: dict[str, object] = dict(agency_rules(session, agency))
    row = session.get(AgencyPolicy, agency)
    if row is not None and row.min_office_days is not None:
        rules["min_office_days"] = row.min_office_days
    if "weekdays" in rules:
        rules["weekdays"] = [int(d) for d in str(rules["weekdays"]).split(",") if d]
    return AgencyPolicyDoc.model_validate(rules)


def agency_calendar(session: Session, agency: str) -> tuple[AgencyPolicyDoc, list[ClosedDayDoc]]:
    """An agency's own rules, and its own leave days this year and the next."""
    year = today_in(platform_zone(session)).year
    days = [
        d
        for y in (year, year + 1)
        for d in closed_days(session, year=y, building=None, agency=agency)
        if d.agency == agency
    ]
    return agency_rules_doc(session, agency), days


def _agency_of(agency: str, scope: str | None) -> None:
    if scope is not None and agency != scope:
        raise Forbidden(T("you administer {agency} only", agency=scope))


def close_day(
    session: Session, *, actor: str, doc: ClosedDayDoc, scope: str | None = None
) -> ClosedDayDoc:
    """Close a day in one building, or in all, or an agency's own leave day for its people.

    ``scope`` is the one agency the actor reaches (an agency's administrator closes their
    agency's days only); ConflictError when the day is closed already.
    """
    if scope is not None and doc.agency is None:
        raise Forbidden(
            T(
                "an agency's administrator closes their agency's days: name the agency {agency}",
                agency=scope,
            )
        )
    if doc.agency is not None:
        _agency_of(doc.agency, scope)
        agencies.known(session, doc.agency)
    if doc.building is not None:
        building_tz(session, doc.building)  # 404 for an unknown building
    same = select(ClosedDay).where(
        ClosedDay.day == doc.day.isoformat(),
        ClosedDay.building_id.is_(None)
        if doc.building is None
        else ClosedDay.building_id == doc.building,
        ClosedDay.agency_id.is_(None) if doc.agency is None else ClosedDay.agency_id == doc.agency,
    )
    if session.scalar(same) is not None:
        where = (
            f"agency {doc.agency!r}"
            if doc.agency
            else f"building {doc.building!r}"
            if doc.building
            else "every building"
        )
        raise ConflictError(f"{doc.day} is already closed in {where}")
    session.add(
        ClosedDay(
            building_id=doc.building,
            agency_id=doc.agency,
            day=doc.day.isoformat(),
            reason=doc.reason,
        )
    )
    record(
        session,
        actor=actor,
        action="booking.closed_day",
        target_kind="day",
        target_id=doc.day.isoformat(),
        building=doc.building,
        reason=doc.reason,
        agency=doc.agency,
    )
    return doc


def closed_days(
    session: Session, *, year: int, building: str | None, agency: str | None = None
) -> list[ClosedDayDoc]:
    """The year's public holidays and collective leave, and the days closed by hand.

    With ``agency``, that agency's own leave days too (without, the buildings' alone).
    """
    days = [ClosedDayDoc(day=d, reason=name) for d, name in sorted(national_holidays(year).items())]
    for row in session.scalars(select(ClosedDay).where(ClosedDay.day.like(f"{year}-%"))):
        if row.agency_id is not None and row.agency_id != agency:
            continue
        if building is None or row.building_id in (None, building):
            days.append(
                ClosedDayDoc(
                    day=date.fromisoformat(row.day),
                    reason=row.reason,
                    building=row.building_id,
                    agency=row.agency_id,
                )
            )
    return sorted(days, key=lambda d: d.day)
