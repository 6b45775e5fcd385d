"""Checking in and out: by the desk's QR label, the app, or a facility manager.

The desk's sensor checks people in too (server.bookings.presence).
A check-in says how the person's presence was shown (``Booking.presence``): the desk's
label carries a secret, so a QR check-in shows the person scanned it at the desk; at a
desk with a sensor, only the sensor does, and a QR or app check-in waits for it.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.models import User
from server.auth.service import Principal
from server.bookings.models import ACTIVE, Booking, DeskLive
from server.bookings.schemas import BookingPublic
from server.bookings.service import (
    Space,
    book_one,
    desk_follows,
    find_space,
    get,
    on_behalf,
    public,
)
from server.calendar.dates import CHECKIN_OPENS_BEFORE_MS, checkin_opens, clock, from_ms, to_ms
from server.calendar.hours import building_tz, opening
from server.calendar.policy import policy_for
from server.clock import now_utc
from server.exceptions import NotFoundError, Refusal
from server.i18n import N_, T
from server.registry.models import Device
from server.spaces.models import Desk

# A scan this long before one's own booking of the desk is "too early", not a walk-in.
EARLY_MS: Final = 12 * 3_600_000


def check_in(
    session: Session,
    *,
    actor: Principal,
    booking_id: int,
    via: str = "app",
    key: str | None = None,
    now: datetime | None = None,
) -> BookingPublic:
    """Check in from 15 minutes before the start until the end.

    ``key``, the desk label's secret, makes it a QR check-in (a wrong one is refused);
    without it, it is the booker's word in the app (``Booking.presence``).

    The booker checks in; a facility manager (or admin) may do it for them, on the
    booking's own day like anyone (a colleague without a phone at the desk). Such a check-in
    is recorded as ``manager`` with the manager's name, in the booking and the audit log,
    and reports count it apart from the sensor's and the booker's own.
    """
    row, tz = get(session, actor=actor, booking_id=booking_id)
    owner = on_behalf(
        session,
        actor,
        row,
        N_("only the person booked can check in; a facility manager may do it for them"),
    )
    if owner is not None:
        via = "manager"
    elif key is not None:
        desk = session.get(Desk, row.desk_id) if row.desk_id is not None else None
        if desk is None or not key_matches(desk, key):
            raise Refusal("qr_key", T("scan the QR code on the desk itself to check in there"), 403)
        via = "qr"
    now = now or now_utc()
    at = to_ms(now)
    if row.state != "booked":
        raise Refusal("state", T("booking {id} is {state}", id=booking_id, state=row.state), 409)
    if at < checkin_opens(row.start_ms):
        raise Refusal(
            "too_early",
            T("check-in opens at {time}", time=clock(checkin_opens(row.start_ms), tz)),
        )
    if at >= row.end_ms:
        raise Refusal("in_the_past", T("the booking is over"))
    row.state, row.checked_in_ms, row.checked_in_by = "checked_in", at, via
    row.presence = presence_for(session, row, via)
    row.checked_in_actor = actor.username
    record(
        session,
        actor=actor.username,
        action="booking.check_in",
        target_kind="booking",
        target_id=str(row.id),
        via=via,
        on_behalf_of=owner,
    )
    desk_follows(session, row, now)
    return public(row, tz)


def presence_for(session: Session, row: Booking, via: str) -> str:
    """How a check-in ``via`` qr, app or manager shows presence (Booking.presence).

    At a desk with a live sensor, only the sensor does: someone there now, or else the
    booking waits for it (``pending``) until the grace period ends. Elsewhere a scanned
    label shows it; the booker's word in the app alone does not.
    """
    if via == "manager":
        return "manager"
    if row.desk_id is not None and desk_has_sensor(session, row.building_id, row.space_code):
        live = session.get(DeskLive, row.desk_id)
        return "sensor" if live is not None and live.occupied else "pending"
    return "qr" if via == "qr" else "app"


def desk_has_sensor(session: Session, building: str, desk: str) -> bool:
    """Whether a live (not decommissioned) desk node serves this desk."""
    return (
        session.scalar(
            select(Device.id).where(
                Device.building == building,
                Device.space == desk,
                Device.space_kind == "desk",
                Device.decommissioned_ms.is_(None),
            )
        )
        is not None
    )


def check_out(
    session: Session, *, actor: Principal, booking_id: int, now: datetime | None = None
) -> BookingPublic:
    """Leave the desk: the booking is kept (attended) and the desk is free again."""
    row, tz = get(session, actor=actor, booking_id=booking_id)
    owner = on_behalf(
        session,
        actor,
        row,
        N_("only the person booked can check out; a facility manager may do it for them"),
    )
    if row.state != "checked_in":
        raise Refusal(
            "state",
            T("booking {id} is {state}; check in first", id=booking_id, state=row.state),
            409,
        )
    now = now or now_utc()
    row.state, row.outcome = "completed", row.outcome or "attended"  # a walk-in stays one
    row.checked_out_ms = to_ms(now)
    record(
        session,
        actor=actor.username,
        action="booking.check_out",
        target_kind="booking",
        target_id=str(row.id),
        on_behalf_of=owner,
    )
    desk_follows(session, row, now)
    return public(row, tz)


def key_matches(space: Space, key: str | None) -> bool:
    """Whether ``key`` is the secret of the desk's QR label."""
    kept = space.qr_key if isinstance(space, Desk) else None
    return bool(key) and kept is not None and hmac.compare_digest(str(key), kept)


def desk_key_ok(session: Session, *, building: str, desk: str, key: str | None) -> bool:
    """Whether ``key`` is the desk's label secret (the check-in page asks before it offers)."""
    return key_matches(find_space(session, building, desk, None), key)


def _checkin_row(session: Session, space: Any, user: User, at: int) -> Booking | None:
    """The person's booking of the desk whose check-in window holds ``at``."""
    return session.scalar(
        select(Booking).where(
            Booking.desk_id == space.id,
            Booking.user_id == user.id,
            Booking.state == "booked",
            Booking.start_ms <= at + CHECKIN_OPENS_BEFORE_MS,
            Booking.end_ms > at,
        )
    )


def checkin_booking(
    session: Session, *, actor: Principal, building: str, desk: str, now: datetime | None = None
) -> BookingPublic | None:
    """The actor's booking that a check-in at this desk now would check in, if any."""
    _, tz = building_tz(session, building)
    space = find_space(session, building, desk, None)
    user = session.scalar(select(User).where(User.username == actor.username))
    row = _checkin_row(session, space, user, to_ms(now or now_utc())) if user else None
    return public(row, tz) if row is not None else None


def desk_check_in(
    session: Session,
    *,
    actor: Principal,
    building: str,
    desk: str,
    key: str | None,
    now: datetime | None = None,
) -> BookingPublic:
    """Check in at a desk by its QR code: your booking of it, or a walk-in booking.

    ``key`` is the secret the desk's label carries: without it (a link typed or guessed
    away from the desk) nothing is checked in.

    A walk-in booking lasts until the building closes, the desk's next booking starts or the
    longest booking the rules allow is over, whichever comes first. Someone whose own
    booking of the desk starts within EARLY_MS is told when its check-in opens instead.
    """
    now = now or now_utc()
    b, tz = building_tz(session, building)
    space = find_space(session, building, desk, None)
    if not key_matches(space, key):
        raise Refusal("qr_key", T("scan the QR code on the desk itself to check in there"), 403)
    user = session.scalar(select(User).where(User.username == actor.username))
    if user is None:
        raise NotFoundError(T("no user {user}", user=repr(actor.username)))
    at = to_ms(now)
    mine = _checkin_row(session, space, user, at)
    if mine is not None:
        return check_in(session, actor=actor, booking_id=mine.id, key=key, now=now)
    policy = policy_for(session, b.id, space.zone_id, user.agency_id)
    day = now.astimezone(tz).date()
    later = session.scalar(
        select(func.min(Booking.start_ms)).where(
            Booking.desk_id == space.id,
            Booking.user_id == user.id,
            Booking.state == "booked",
            Booking.start_ms > at,
            Booking.start_ms < at + EARLY_MS,
        )
    )
    if later is not None:  # their own booking here soon: not a walk-in until then
        raise Refusal(
            "too_early",
            T("check-in opens at {time}", time=clock(checkin_opens(later), tz)),
        )
    end = min(
        opening(policy, day, tz)[1], now.astimezone(tz) + timedelta(minutes=policy.max_minutes)
    )
    following = session.scalar(
        select(func.min(Booking.start_ms)).where(
            Booking.desk_id == space.id, Booking.state.in_(ACTIVE), Booking.start_ms > at
        )
    )
    if following is not None:
        end = min(end, from_ms(following, tz))
    row = book_one(
        session,
        building=b.id,
        tz=tz,
        policy=policy,
        space=space,
        user=user,
        actor=actor,
        start=now,
        end=end,
        now=now,
        series=None,
    )
    row.state, row.checked_in_ms, row.checked_in_by, row.outcome = "checked_in", at, "qr", "walk_in"
    row.presence = presence_for(session, row, "qr")
    desk_follows(session, row, now)
    return public(row, tz)
