"""Every desk of a floor with its state for a slot, and why it cannot be booked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.models import User
from server.auth.service import Principal
from server.bookings.models import ACTIVE, Booking, DeskBlock
from server.bookings.rules import Policy, check_slot, policy_for
from server.bookings.schemas import DeskAvailability, DeskState
from server.bookings.service import building_tz, local, ms, now_utc
from server.exceptions import Refusal
from server.spaces.models import Desk, Zone
from server.spaces.service import get_floor

# Refusals that concern the slot, not the desk: every desk of the zone is then "closed".
CLOSING_RULES = ("weekday", "closed_day", "working_hours", "booking_window", "in_the_past")


def availability(
    session: Session,
    *,
    actor: Principal,
    building: str,
    floor: str,
    start: datetime,
    end: datetime,
    zone: str | None = None,
    monitor: bool | None = None,
    standing: bool | None = None,
    accessible: bool | None = None,
    quiet: bool | None = None,
    now: datetime | None = None,
) -> list[DeskAvailability]:
    """The floor's desks (filtered by zone and attributes) for the slot."""
    _, tz = building_tz(session, building)
    start, end = local(start, tz), local(end, tz)
    row = get_floor(session, building, floor)
    zones = {z.id: z for z in session.scalars(select(Zone).where(Zone.building_id == building))}
    # Columns, not ORM objects: a 500-desk floor is read several times a second at peak.
    query = (
        select(
            Desk.id, Desk.code, Desk.name, Desk.zone_id, Desk.neighbourhood_id, Desk.x, Desk.y,
            Desk.monitor, Desk.standing, Desk.accessible, Desk.quiet, Desk.bookable,
        )
        .where(Desk.floor_id == row.id)
        .order_by(Desk.code)
    )  # fmt: skip
    for flag, column in (
        (monitor, Desk.monitor),
        (standing, Desk.standing),
        (accessible, Desk.accessible),
        (quiet, Desk.quiet),
    ):
        if flag is not None:
            query = query.where(column == flag)
    desks = [
        d
        for d in session.execute(query)
        if zone is None or zone in (zones[d.zone_id].code, _code(zones, d.neighbourhood_id))
    ]
    s, e = ms(start), ms(end)
    ids = select(Desk.id).where(Desk.floor_id == row.id)
    taken = {
        b.desk_id: b
        for b in session.execute(
            select(Booking.desk_id, Booking.user_id).where(
                Booking.desk_id.in_(ids),
                Booking.state.in_(ACTIVE),
                Booking.start_ms < e,
                Booking.end_ms > s,
            )
        )
    }
    blocked = {
        b.desk_id: b.reason
        for b in session.scalars(
            select(DeskBlock).where(
                DeskBlock.desk_id.in_(ids), DeskBlock.start_ms < e, DeskBlock.end_ms > s
            )
        )
    }
    me = session.scalar(select(User).where(User.username == actor.username))
    closed: dict[int | None, str | None] = {}
    policies: dict[int, Policy] = {}
    out = []
    for d in desks:
        if d.zone_id not in policies:
            policies[d.zone_id] = policy_for(session, building, d.zone_id)
        policy = policies[d.zone_id]
        if d.zone_id not in closed:
            try:
                check_slot(session, building=building, policy=policy, tz=tz, start=start,
                           end=end, now=now or now_utc())  # fmt: skip
                closed[d.zone_id] = None
            except Refusal as refusal:
                if refusal.rule not in CLOSING_RULES:
                    raise
                closed[d.zone_id] = str(refusal)
        state: DeskState = "free"
        reason: str | None = None
        team = zones[d.neighbourhood_id].team if d.neighbourhood_id else None
        if not d.bookable:
            state, reason = "not_bookable", "not bookable"
        elif closed[d.zone_id]:
            state, reason = "closed", closed[d.zone_id]
        elif d.id in blocked:
            state, reason = "blocked", blocked[d.id]
        elif d.id in taken:
            mine = me is not None and taken[d.id].user_id == me.id
            state, reason = ("yours", None) if mine else ("booked", "booked by a colleague")
        elif team and (me is None or me.team != team):
            state, reason = "team_zone", f"reserved for team {team}"
        out.append(
            DeskAvailability.model_construct(
                id=d.code,
                name=d.name,
                floor=floor,
                zone=zones[d.zone_id].code,
                neighbourhood=_code(zones, d.neighbourhood_id),
                x=d.x,
                y=d.y,
                monitor=d.monitor,
                standing=d.standing,
                accessible=d.accessible,
                quiet=d.quiet,
                state=state,
                reason=reason,
            )
        )
    return out


def _code(zones: dict[int, Zone], zone_id: int | None) -> str | None:
    return zones[zone_id].code if zone_id is not None else None
