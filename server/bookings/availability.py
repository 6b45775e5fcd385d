"""Every desk of a floor with its state for a slot, and why it cannot be booked.

An answer is made of two layers. The floor layer holds what is the same for everyone:
the desks (filtered), which are closed for the slot (weekday, hours, holidays), blocked
or not bookable, and each desk's team; with each desk's JSON already written for every
state it can take. The bookings layer is who holds which desk in the slot. A request
then only picks, per desk, one of the prepared answers for the person asking (yours,
booked, team_zone or free).

``AvailabilityCache`` keeps both layers per floor and slot in a ``TableCache``: a layer
is read again after this process commits a change to one of its tables, and at the
latest the server's ``cache_s`` (1 s) after it was read, which bounds how long a change
made through another replica, or the clock passing a closing time, stays unseen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.agencies import service as agencies
from server.auth.models import User
from server.auth.service import Principal
from server.bookings import agencies as whose
from server.bookings.models import ACTIVE, Booking, DeskBlock
from server.bookings.rules import check_slot
from server.bookings.schemas import DeskAvailability, SlotState
from server.cache import TableCache
from server.calendar.dates import aware, to_ms
from server.calendar.hours import building_tz
from server.calendar.policy import Policy, policy_for
from server.clock import now_utc
from server.db import Database
from server.exceptions import Refusal
from server.i18n import T, say
from server.spaces.models import Desk, Zone
from server.spaces.service import get_floor

# Refusals that concern the slot, not the desk: every desk of the zone is then "closed".
CLOSING_RULES = ("weekday", "closed_day", "working_hours", "booking_window", "in_the_past")
# The tables each layer is made from.
FLOOR_TABLES = (
    "buildings",
    "floors",
    "zones",
    "desks",
    "booking_policies",
    "agency_policies",
    "closed_days",
    "desk_blocks",
    "floor_openings",
)
BOOKING_TABLES = ("bookings",)
BOOKED = T("booked by a colleague")
_ONE = TypeAdapter(DeskAvailability)


@dataclass(frozen=True, slots=True)
class DeskFilter:
    """Which desks of the floor to show: a zone or neighbourhood, and attributes."""

    zone: str | None = None
    monitor: bool | None = None
    standing: bool | None = None
    accessible: bool | None = None
    quiet: bool | None = None


@dataclass(frozen=True, slots=True)
class DeskView:
    """One desk in the floor layer, with its answer for each state it can take."""

    id: int
    team: str | None
    owner: str | None
    """The agency whose floor the desk is on (None: the building's)."""
    open_to: frozenset[str]
    """Other agencies whose people the floor seats on the slot's day."""
    # not_bookable, closed or blocked: the same for everyone; else None.
    fixed: SlotState | None
    base: DeskAvailability
    """The desk as every answer shows it, but for its state and reason."""
    reasons: dict[SlotState, object]
    """The states the desk can take, and why it is in each (said in the reader's language)."""
    made: dict[SlotState, DeskAvailability] = field(default_factory=dict)
    said: dict[tuple[SlotState, str], bytes] = field(default_factory=dict)
    """Each state's answer as JSON in each language, made when first asked for."""

    def answer(self, state: SlotState) -> DeskAvailability:
        """The desk's answer in ``state`` (made when first asked for)."""
        if state not in self.made:
            why = self.reasons[state]
            self.made[state] = self.base.model_copy(
                update={"state": state, "reason": None if why is None else str(why)}
            )
        return self.made[state]

    def json(self, state: SlotState, lang: str) -> bytes:
        """The answer in ``state`` as JSON, its reason said in ``lang``."""
        key = (state, lang)
        if key not in self.said:
            why = self.reasons[state]
            self.said[key] = _ONE.dump_json(
                self.answer(state).model_copy(
                    update={"reason": None if why is None else say(why, lang)}
                )
            )
        return self.said[key]

    def state_for(self, actor: Principal, holder: str | None) -> SlotState:
        """The desk's state as ``actor`` sees it, when ``holder`` has it booked."""
        if self.fixed is not None:
            return self.fixed
        if holder is not None:
            return "yours" if holder == actor.username else "booked"
        if not whose.may_sit(self.owner, self.open_to, actor.agency):
            return "not_bookable"
        if self.team is not None and actor.team != self.team:
            return "team_zone"
        return "free"


def floor_layer(
    session: Session,
    *,
    building: str,
    floor: str,
    start: datetime,
    end: datetime,
    desks: DeskFilter,
    now: datetime,
    agency: str | None = None,
) -> list[DeskView]:
    """The floor's desks for the slot, as anyone sees them; Refusal if the slot is wrong."""
    _, tz = building_tz(session, building)
    start, end = aware(start, tz), aware(end, tz)
    row = get_floor(session, building, floor)
    zones = {z.id: z for z in session.scalars(select(Zone).where(Zone.building_id == building))}
    query = (
        select(
            Desk.id,
            Desk.code,
            Desk.name,
            Desk.zone_id,
            Desk.neighbourhood_id,
            Desk.x,
            Desk.y,
            Desk.monitor,
            Desk.standing,
            Desk.accessible,
            Desk.quiet,
            Desk.bookable,
        )
        .where(Desk.floor_id == row.id)
        .order_by(Desk.code)
    )
    for flag, column in (
        (desks.monitor, Desk.monitor),
        (desks.standing, Desk.standing),
        (desks.accessible, Desk.accessible),
        (desks.quiet, Desk.quiet),
    ):
        if flag is not None:
            query = query.where(column == flag)
    rows = [
        d
        for d in session.execute(query)
        if desks.zone is None
        or desks.zone in (zones[d.zone_id].code, _code(zones, d.neighbourhood_id))
    ]
    s, e = to_ms(start), to_ms(end)
    blocked = {
        b.desk_id: b.reason
        for b in session.scalars(
            select(DeskBlock).where(
                DeskBlock.desk_id.in_(select(Desk.id).where(Desk.floor_id == row.id)),
                DeskBlock.start_ms < e,
                DeskBlock.end_ms > s,
            )
        )
    }
    open_to = whose.opened_to(session, row.id, start.astimezone(tz).date())
    owner_name = agencies.agency(session, row.agency_id).name if row.agency_id else None
    closed: dict[int | None, object] = {}
    policies: dict[int, Policy] = {}
    out = []
    for d in rows:
        if d.zone_id not in policies:
            policies[d.zone_id] = policy_for(session, building, d.zone_id, agency)
        if d.zone_id not in closed:
            try:
                check_slot(
                    session,
                    building=building,
                    policy=policies[d.zone_id],
                    tz=tz,
                    start=start,
                    end=end,
                    now=now,
                )
                closed[d.zone_id] = None
            except Refusal as refusal:
                if refusal.rule not in CLOSING_RULES:
                    raise
                closed[d.zone_id] = refusal.args[0]
        fixed: SlotState | None = None
        reason: object = None
        if not d.bookable:
            fixed, reason = "not_bookable", T("not bookable")
        elif closed[d.zone_id]:
            fixed, reason = "closed", closed[d.zone_id]
        elif d.id in blocked:
            fixed, reason = "blocked", blocked[d.id]
        team = zones[d.neighbourhood_id].team if d.neighbourhood_id else None
        reasons: dict[SlotState, object] = (
            {fixed: reason} if fixed else {"free": None, "yours": None, "booked": BOOKED}
        )
        if team and not fixed:
            reasons["team_zone"] = T("reserved for team {team}", team=team)
        if row.agency_id and not fixed:
            reasons["not_bookable"] = T("for the people of {agency}", agency=owner_name)
        base = DeskAvailability.model_construct(
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
            state=next(iter(reasons)),
            reason=None,
        )
        out.append(DeskView(d.id, team, row.agency_id, open_to, fixed, base, reasons))
    return out


def holders(
    session: Session, *, building: str, floor: str, start: datetime, end: datetime
) -> dict[int, str]:
    """Desk id -> username of whoever holds it (booked or checked in) during the slot."""
    _, tz = building_tz(session, building)
    row = get_floor(session, building, floor)
    s, e = to_ms(aware(start, tz)), to_ms(aware(end, tz))
    query = (
        select(Booking.desk_id, User.username)
        .join(User, User.id == Booking.user_id)
        .where(
            Booking.desk_id.in_(select(Desk.id).where(Desk.floor_id == row.id)),
            Booking.state.in_(ACTIVE),
            Booking.start_ms < e,
            Booking.end_ms > s,
        )
    )
    return {desk_id: user for desk_id, user in session.execute(query) if desk_id is not None}


def availability(
    session: Session,
    *,
    actor: Principal,
    building: str,
    floor: str,
    start: datetime,
    end: datetime,
    desks: DeskFilter = DeskFilter(),
    now: datetime | None = None,
) -> list[DeskAvailability]:
    """The floor's desks (filtered by zone and attributes) for the slot, read afresh."""
    layer = floor_layer(
        session,
        building=building,
        floor=floor,
        start=start,
        end=end,
        desks=desks,
        now=now or now_utc(),
    )
    held = holders(session, building=building, floor=floor, start=start, end=end)
    return [d.answer(d.state_for(actor, held.get(d.id))) for d in layer]


def _code(zones: dict[int, Zone], zone_id: int | None) -> str | None:
    return zones[zone_id].code if zone_id is not None else None


class AvailabilityCache:
    """Availability answers (JSON) from the two layers, each kept per floor and slot."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.floors: TableCache[tuple[object, ...], list[DeskView]] = TableCache(
            db, FLOOR_TABLES, clock=clock
        )
        self.bookings: TableCache[tuple[object, ...], dict[int, str]] = TableCache(
            db, BOOKING_TABLES, clock=clock
        )

    def kept(self, ask: AvailabilityQuery, actor: Principal, lang: str = "en") -> bytes | None:
        """The answer from kept layers only, or None when one must be read first."""
        ask = replace(ask, agency=actor.agency)  # its rules and leave days are the person's
        layer = self.floors.peek(ask.floor_key)
        held = self.bookings.peek(ask.slot_key) if layer is not None else None
        return None if layer is None or held is None else _json(layer, held, actor, lang)

    def answer(self, ask: AvailabilityQuery, actor: Principal, lang: str = "en") -> bytes:
        """The floor's desks for ``actor`` as JSON, reading what is not kept.

        The reasons are said in ``lang``; the rules are those of the person's agency.
        """
        ask = replace(ask, agency=actor.agency)

        def make_floor() -> list[DeskView]:
            with self.db.session(commit=False) as session:
                return floor_layer(
                    session,
                    building=ask.building,
                    floor=ask.floor,
                    start=ask.start,
                    end=ask.end,
                    desks=ask.desks,
                    now=now_utc(),
                    agency=ask.agency,
                )

        def make_holders() -> dict[int, str]:
            with self.db.session(commit=False) as session:
                return holders(
                    session, building=ask.building, floor=ask.floor, start=ask.start, end=ask.end
                )

        layer = self.floors.get(ask.floor_key, make_floor)
        held = self.bookings.get(ask.slot_key, make_holders)
        return _json(layer, held, actor, lang)


@dataclass(frozen=True, slots=True)
class AvailabilityQuery:
    """A floor, a slot and which desks: what GET /availability asks."""

    building: str
    floor: str
    start: datetime
    end: datetime
    desks: DeskFilter = DeskFilter()
    agency: str | None = None
    """Whose rules: the asking person's agency (its own rules and leave days)."""

    @property
    def slot_key(self) -> tuple[str, str, str, str]:
        """The bookings layer's key."""
        return (self.building, self.floor, self.start.isoformat(), self.end.isoformat())

    @property
    def floor_key(self) -> tuple[object, ...]:
        """The floor layer's key."""
        return (*self.slot_key, self.desks, self.agency)


def _json(layer: list[DeskView], held: dict[int, str], actor: Principal, lang: str) -> bytes:
    return b"[" + b",".join(d.json(d.state_for(actor, held.get(d.id)), lang) for d in layer) + b"]"
