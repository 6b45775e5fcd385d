"""Whose desks: a floor of an agency seats its own people, and others on days it opens it.

A floor with no agency is the building's and seats everyone. An agency opens its floor to
another agency's people for chosen days (overflow) and takes a day back while none of them
has booked it. Who may open or take back a floor: an administrator of the platform or of
the floor's agency (``may_lend``). Booking and availability both ask ``may_sit``.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.agencies import service as agencies
from server.audit.service import record
from server.auth.models import User
from server.auth.service import Principal
from server.bookings.models import ACTIVE, Booking, FloorOpening
from server.calendar.dates import days_span, to_ms
from server.calendar.hours import building_tz
from server.clock import now_ms
from server.exceptions import ConflictError, Forbidden, Refusal
from server.i18n import T
from server.roles import PEOPLE_ADMINS
from server.spaces.models import Desk, Floor
from server.spaces.service import get_floor

SHARED = "shared"
"""The group of the building's own floors in a report by agency: shared by everyone."""


class Opening(BaseModel):
    """A day an agency's floor seats another agency's people."""

    floor: str
    agency: str
    day: date
    created_by: str


def owner(session: Session, floor_id: int) -> str | None:
    """The agency whose floor this is; None: the building's, seating everyone."""
    return session.scalar(select(Floor.agency_id).where(Floor.id == floor_id))


def opened_to(session: Session, floor_id: int, day: date) -> frozenset[str]:
    """The agencies whose people the floor seats on ``day`` besides its own."""
    rows = session.scalars(
        select(FloorOpening.agency_id).where(
            FloorOpening.floor_id == floor_id, FloorOpening.day == day.isoformat()
        )
    )
    return frozenset(rows)


def may_sit(floor_owner: str | None, opened: frozenset[str], agency: str | None) -> bool:
    """Whether a person of ``agency`` may book a desk of a floor of ``floor_owner``."""
    return floor_owner is None or agency == floor_owner or (agency is not None and agency in opened)


def check_desk(session: Session, desk: Desk, user: User, day: date) -> None:
    """Refusal unless ``user`` may book ``desk`` on ``day`` (their agency, or opened to it)."""
    floor_owner = owner(session, desk.floor_id)
    if may_sit(floor_owner, opened_to(session, desk.floor_id, day), user.agency_id):
        return
    assert floor_owner is not None
    raise not_theirs(desk, agencies.agency(session, floor_owner).name, day)


def not_theirs(desk: Desk, agency_name: str, day: date) -> Refusal:
    """The desk's floor is another agency's on ``day`` (named ``agency_name``)."""
    return Refusal(
        "agency_floor",
        T(
            "desk {desk} is for the people of {agency} on {day}",
            desk=desk.code,
            agency=agency_name,
            day=day.isoformat(),
        ),
    )


def may_lend(actor: Principal, floor_owner: str | None) -> bool:
    """Whether ``actor`` may open or take back the floor.

    An administrator of the platform may, or one of the agency whose floor it is.
    """
    return actor.role in PEOPLE_ADMINS and actor.reaches(floor_owner)


def _floor(session: Session, actor: Principal, building: str, floor: str) -> Floor:
    row = get_floor(session, building, floor)
    if row.agency_id is None:
        raise ConflictError(
            T("floor {floor} is the building's: it seats every agency already", floor=floor)
        )
    if not may_lend(actor, row.agency_id):
        raise Forbidden(T("only an administrator may lend {agency}'s floor", agency=row.agency_id))
    return row


def open_floor(
    session: Session,
    *,
    actor: Principal,
    building: str,
    floor: str,
    agency: str,
    days: list[date],
) -> list[Opening]:
    """Open the floor to ``agency``'s people on ``days`` (those already open stay so)."""
    row = _floor(session, actor, building, floor)
    agencies.known(session, agency)
    if agency == row.agency_id:
        raise ConflictError(T("{agency} has its own floor already", agency=agency))
    have = {o.day for o in listings(session, row, agency)}
    for day in sorted(set(days) - have):
        session.add(
            FloorOpening(
                floor_id=row.id,
                agency_id=agency,
                day=day.isoformat(),
                created_by=actor.username,
                created_ms=now_ms(),
            )
        )
    session.flush()
    record(
        session,
        actor=actor.username,
        action="floor.open",
        target_kind="floor",
        target_id=f"{building}/{floor}",
        agency=agency,
        days=[d.isoformat() for d in days],
    )
    return listings(session, row, None)


def close_floor(
    session: Session, *, actor: Principal, building: str, floor: str, agency: str, day: date
) -> None:
    """Take a day back: refused while a person of ``agency`` has a desk there that day."""
    row = _floor(session, actor, building, floor)
    _, tz = building_tz(session, building)
    s, e = (to_ms(t) for t in days_span(day, day, tz))
    guests = session.scalar(
        select(func.count())
        .select_from(Booking)
        .join(User, User.id == Booking.user_id)
        .where(
            Booking.desk_id.in_(select(Desk.id).where(Desk.floor_id == row.id)),
            User.agency_id == agency,
            Booking.state.in_(ACTIVE),
            Booking.start_ms < e,
            Booking.end_ms > s,
        )
    )
    if guests:
        raise ConflictError(
            T(
                "{n} people of {agency} have a desk there on {day}: the day stays open",
                n=guests,
                agency=agency,
                day=day.isoformat(),
            )
        )
    found = session.scalar(
        select(FloorOpening).where(
            FloorOpening.floor_id == row.id,
            FloorOpening.agency_id == agency,
            FloorOpening.day == day.isoformat(),
        )
    )
    if found is not None:
        session.delete(found)
        record(
            session,
            actor=actor.username,
            action="floor.close",
            target_kind="floor",
            target_id=f"{building}/{floor}",
            agency=agency,
            day=day.isoformat(),
        )


def listings(session: Session, row: Floor, agency: str | None) -> list[Opening]:
    """The floor's openings (to ``agency`` only, when given), by day."""
    query = select(FloorOpening).where(FloorOpening.floor_id == row.id)
    if agency is not None:
        query = query.where(FloorOpening.agency_id == agency)
    return [
        Opening(
            floor=row.code,
            agency=o.agency_id,
            day=date.fromisoformat(o.day),
            created_by=o.created_by,
        )
        for o in session.scalars(query.order_by(FloorOpening.day, FloorOpening.agency_id))
    ]


def openings(session: Session, *, building: str, floor: str) -> list[Opening]:
    """The days a floor seats other agencies' people."""
    return listings(session, get_floor(session, building, floor), None)
