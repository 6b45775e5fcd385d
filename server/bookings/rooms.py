"""Meeting rooms for a slot: which are free, by capacity, and why the others are not."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.models import User
from server.auth.service import Principal
from server.bookings.availability import CLOSING_RULES
from server.bookings.models import ACTIVE, Booking
from server.bookings.rules import check_slot
from server.calendar.dates import aware, to_ms
from server.calendar.hours import building_tz
from server.calendar.policy import policy_for
from server.clock import now_utc
from server.exceptions import Refusal
from server.i18n import T, say
from server.spaces.models import Floor, Room

RoomState = str  # free, yours, booked, closed, not_bookable


class RoomAvailability(BaseModel):
    """A meeting room's state for the asked slot, and why it cannot be booked."""

    id: str
    name: str
    floor: str
    capacity: int
    state: RoomState
    reason: str | None = None


def rooms(
    session: Session,
    *,
    actor: Principal,
    building: str,
    start: datetime,
    end: datetime,
    floor: str | None = None,
    capacity: int = 1,
    lang: str = "en",
    now: datetime | None = None,
) -> list[RoomAvailability]:
    """The building's (or a floor's) rooms seating at least ``capacity``, for the slot."""
    _, tz = building_tz(session, building)
    start, end = aware(start, tz), aware(end, tz)
    query = (
        select(Room, Floor.code)
        .join(Floor, Floor.id == Room.floor_id)
        .where(Room.building_id == building, Room.capacity >= capacity)
        .order_by(Floor.level, Room.capacity, Room.code)
    )
    if floor:
        query = query.where(Floor.code == floor)
    found = session.execute(query).all()
    s, e = to_ms(start), to_ms(end)
    held = dict(
        session.execute(
            select(Booking.room_id, User.username)
            .join(User, User.id == Booking.user_id)
            .where(
                Booking.room_id.in_([r.id for r, _ in found]),
                Booking.state.in_(ACTIVE),
                Booking.start_ms < e,
                Booking.end_ms > s,
            )
        ).all()
    )
    closed: dict[int, object] = {}
    out = []
    for room, floor_code in found:
        if room.zone_id not in closed:
            try:
                policy = policy_for(session, building, room.zone_id, actor.agency)
                check_slot(
                    session,
                    building=building,
                    policy=policy,
                    tz=tz,
                    start=start,
                    end=end,
                    now=now or now_utc(),
                )
                closed[room.zone_id] = None
            except Refusal as refusal:
                if refusal.rule not in CLOSING_RULES:
                    raise
                closed[room.zone_id] = refusal.args[0]
        state: RoomState = "free"
        why: object = None
        if not room.bookable:
            state, why = "not_bookable", T("not bookable")
        elif closed[room.zone_id] is not None:
            state, why = "closed", closed[room.zone_id]
        elif room.id in held:
            mine = held[room.id] == actor.username
            state, why = ("yours", None) if mine else ("booked", T("booked by a colleague"))
        out.append(
            RoomAvailability(
                id=room.code,
                name=room.name,
                floor=floor_code,
                capacity=room.capacity,
                state=state,
                reason=None if why is None else say(why, lang),
            )
        )
    return out
