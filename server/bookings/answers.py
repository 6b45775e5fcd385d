"""The answers to a booking's reminder, from its one-tap link: I am coming, or release it.

See ``server.bookings.remind`` for the reminder and its link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.models import User
from server.auth.service import principal_of
from server.bookings import service as bookings
from server.bookings.models import Booking
from server.calendar.dates import from_ms, to_ms
from server.calendar.hours import building_tz
from server.calendar.policy import policy_for
from server.clock import now_utc
from server.exceptions import NotFoundError, Refusal
from server.i18n import T
from server.notify.service import notifying
from server.spaces.models import Desk


@dataclass(frozen=True, slots=True)
class Answered:
    """What an answer to a reminder did."""

    action: str
    booking: int
    space: str
    held_until: datetime | None = None


def answer(session: Session, *, token: str, action: str, now: datetime | None = None) -> Answered:
    """Carry out a reminder's answer (``coming`` or ``release``) for the token's person."""
    found = notifying(session)
    claims = found.read(token, max_age_s=14 * 86400) if found else None
    row = session.get(Booking, int(str(claims.get("b", 0)))) if claims else None
    owner = session.get(User, row.user_id) if row is not None and row.user_id else None
    if row is None or owner is None or claims is None or claims.get("u") != owner.uid:
        raise NotFoundError(T("this link is not valid (any more)"))
    now = now or now_utc()
    if to_ms(now) >= row.end_ms:
        raise Refusal("state", T("the booking is over"), 409)
    if action == "release":
        bookings.cancel(session, actor=principal_of(owner), booking_id=row.id)
        return Answered("release", row.id, row.space_code)
    if action != "coming":
        raise Refusal("action", T("answer coming or release"))
    if row.state != "booked":
        raise Refusal(
            "state",
            T("booking {id} is {state}; only a booked one waits", id=row.id, state=row.state),
            409,
        )
    if row.held_until_ms is None:
        assert found is not None
        desk = session.get(Desk, row.desk_id) if row.desk_id else None
        policy = policy_for(
            session, row.building_id, desk.zone_id if desk else None, owner.agency_id
        )
        grace_ms = policy.checkin_grace_minutes * 60_000
        held = max(row.start_ms + grace_ms, to_ms(now)) + found.hold_minutes * 60_000
        row.held_until_ms = min(held, row.end_ms)
        record(
            session,
            actor=owner.username,
            action="booking.coming",
            target_kind="booking",
            target_id=str(row.id),
            held_until=row.held_until_ms,
        )
    _, tz = building_tz(session, row.building_id)
    return Answered("coming", row.id, row.space_code, from_ms(row.held_until_ms, tz))
