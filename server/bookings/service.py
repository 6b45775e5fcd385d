"""Make, find and cancel bookings, never two on one desk at once.

Checking in and out: ``server.bookings.checkin``; desk blocks: ``server.bookings.blocks``.

The rules that other bookings cannot change (hours, closed days, blocks, teams) are
checked first; then the desk (or room) and the person are locked, and conflicts, overlaps
and limits are checked and the booking written: ``SELECT ... FOR UPDATE`` on PostgreSQL,
whose exclusion constraint also refuses any overlap outright; on SQLite a write, which
takes the database's one write lock, so concurrent bookings are checked one after another.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from server.audit.service import record
from server.auth.models import User
from server.auth.service import Principal
from server.bookings import agencies as whose
from server.bookings import desks
from server.bookings.models import ACTIVE, Booking, DeskBlock
from server.bookings.remind import tell
from server.bookings.rules import check_slot
from server.bookings.schemas import (
    BookingCreate,
    BookingPublic,
    BookingResult,
    SeriesFailure,
)
from server.bookings.visibility import audit_read, may_see_person, stated
from server.calendar.dates import aware, clock, day_start, from_ms, to_ms
from server.calendar.hours import building_tz, opening
from server.calendar.policy import Policy, policy_for
from server.clock import now_ms, now_utc
from server.db import CHANGES_NOTHING
from server.exceptions import NotFoundError, Refusal
from server.i18n import DEFAULT, N_, T, say
from server.roles import ADMINS, MANAGERS, REPORTERS
from server.spaces.models import Desk, Floor, Room, Zone

Space = Desk | Room


# What is said of a desk or a room, by kind (whole sentences, so each can be translated).
_SAID: Final = {
    ("desk", "not_bookable"): N_("desk {space} is not bookable"),
    ("room", "not_bookable"): N_("room {space} is not bookable"),
    ("desk", "conflict"): N_("desk {space} is already booked {start}-{end}"),
    ("room", "conflict"): N_("room {space} is already booked {start}-{end}"),
    ("desk", "overlap_self"): N_("{user} already has desk {space} then"),
    ("room", "overlap_self"): N_("{user} already has room {space} then"),
    ("desk", "overlap_mine"): N_("you already have desk {space} then"),
    ("room", "overlap_mine"): N_("you already have room {space} then"),
    ("desk", "conflict_race"): N_("desk {space} was just booked"),
    ("room", "conflict_race"): N_("room {space} was just booked"),
}


def find_space(session: Session, building: str, desk: str | None, room: str | None) -> Space:
    """The desk or room by its code, or NotFoundError."""
    code = desk or room
    row: Space | None
    if desk:
        row = session.scalar(select(Desk).where(Desk.building_id == building, Desk.code == code))
    else:
        row = session.scalar(select(Room).where(Room.building_id == building, Room.code == code))
    if row is None:
        missing = (
            N_("no desk {code} in building {building}")
            if desk
            else N_("no room {code} in building {building}")
        )
        raise NotFoundError(T(missing, code=repr(code), building=repr(building)))
    return row


def _lock(session: Session, space: Space, user: User) -> None:
    """Hold the person and the space until the transaction ends (see the module doc)."""
    model = type(space)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == user.id).with_for_update())
        session.execute(select(model.id).where(model.id == space.id).with_for_update())
    else:
        # Any write takes SQLite's one write lock; this one changes no value.
        session.execute(
            update(model).where(model.id == space.id).values(bookable=model.bookable),
            execution_options={CHANGES_NOTHING: True},
        )


def slots_of(
    new: BookingCreate, policy: Policy, tz: ZoneInfo, now: datetime
) -> list[tuple[datetime, datetime]]:
    """The slots asked for; a whole day already begun starts now (its check-in window too)."""
    slots = _asked(new, policy, tz)
    if new.day is None:
        return slots
    minute = now.replace(second=0, microsecond=0)
    return [(minute if s < minute < e else s, e) for s, e in slots]


def _asked(new: BookingCreate, policy: Policy, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    if new.day is not None:
        start, end = opening(policy, new.day, tz)
    else:
        assert new.start is not None
        assert new.end is not None
        start, end = aware(new.start, tz), aware(new.end, tz)
    if new.repeat is None:
        return [(start, end)]
    slots = []
    length = end - start
    first = start.astimezone(tz)
    day = first.date()
    while day <= new.repeat.until:
        if day.weekday() in new.repeat.weekdays:
            begin = datetime.combine(day, first.timetz().replace(tzinfo=None), tz)
            slots.append((begin, begin + length))
        day += timedelta(days=1)
    return slots


def create(
    session: Session,
    *,
    actor: Principal,
    new: BookingCreate,
    now: datetime | None = None,
    language: str = DEFAULT,
    origin: str | None = None,
) -> BookingResult:
    """Book a desk or room (for a slot, a day, or weekly); refusals name their rule.

    A series' failed dates say why in ``language``. ``origin`` ``plan``: the person's work
    plan books it (server.plans).

    In the same transaction: the desk's LED state, and the confirmation mail to the person
    booked (where mail is sent).
    """
    now = now or now_utc()
    building, tz = building_tz(session, new.building)
    username = new.for_user or actor.username
    if new.for_user and new.for_user != actor.username and actor.role not in MANAGERS:
        raise Refusal("on_behalf", T("only facility managers book for a colleague"), 403)
    user = session.scalar(select(User).where(User.username == username, User.active))
    if user is None:
        raise NotFoundError(T("no active user {user}", user=repr(username)))
    space = find_space(session, building.id, new.desk, new.room)
    policy = policy_for(session, building.id, space.zone_id, user.agency_id)
    slots = slots_of(new, policy, tz, now)
    if not slots:
        raise Refusal("repeat", T("the weekly pattern has no date before its end"))
    series = uuid.uuid4().hex[:16] if new.repeat else None
    created, failed, rows = [], [], []
    for start, end in slots:
        try:
            row = book_one(
                session,
                building=building.id,
                tz=tz,
                policy=policy,
                space=space,
                user=user,
                actor=actor,
                start=start,
                end=end,
                now=now,
                series=series,
                origin=origin,
            )
        except Refusal as refusal:
            if series is None or refusal.rule == "conflict_race":
                raise
            failed.append(
                SeriesFailure(
                    day=start.astimezone(tz).date(),
                    rule=refusal.rule,
                    reason=say(refusal.args[0], language),
                )
            )
            continue
        rows.append(row)
        created.append(public(row, tz))
        if origin is None:  # a plan's bookings are told in the morning summary, not one by one
            tell(session, row, "confirmed", tz)
    if rows:
        desk_follows(session, rows[0], now)  # one space: its state covers them all
    return BookingResult(created=created, failed=failed)


def desk_follows(session: Session, row: Booking, now: datetime) -> None:
    """The desk's LED (and the maps) follow the booking, in the same transaction."""
    if row.desk_id is not None:
        desk = session.get(Desk, row.desk_id)
        if desk is not None:
            desks.show(session, desk, to_ms(now), tell=True)


def book_one(
    session: Session,
    *,
    building: str,
    tz: ZoneInfo,
    policy: Policy,
    space: Space,
    user: User,
    actor: Principal,
    start: datetime,
    end: datetime,
    now: datetime,
    series: str | None,
    origin: str | None = None,
) -> Booking:
    """Write one booking of ``space`` for ``user`` if every rule allows it; else Refusal."""
    # What other bookings cannot change is checked first, outside the locks.
    check_slot(session, building=building, policy=policy, tz=tz, start=start, end=end, now=now)
    kind = "desk" if isinstance(space, Desk) else "room"
    s, e = to_ms(start), to_ms(end)
    if not space.bookable:
        raise unbookable(space)
    if isinstance(space, Desk):
        block = session.scalar(
            select(DeskBlock).where(
                DeskBlock.desk_id == space.id, DeskBlock.start_ms < e, DeskBlock.end_ms > s
            )
        )
        if block is not None:
            raise blocked(space, block)
        whose.check_desk(session, space, user, start.astimezone(tz).date())
        refused = team_refusal(space, _team(session, space), user, actor)
        if refused is not None:
            raise refused
    _lock(session, space, user)
    column = Booking.desk_id if kind == "desk" else Booking.room_id
    taken = session.scalar(
        select(Booking).where(
            column == space.id, Booking.state.in_(ACTIVE), Booking.start_ms < e, Booking.end_ms > s
        )
    )
    if taken is not None:
        raise conflict(space, taken, tz)
    mine = select(Booking).where(
        Booking.user_id == user.id, Booking.state.in_(ACTIVE), Booking.space_kind == kind
    )
    overlapping = session.scalar(mine.where(Booking.start_ms < e, Booking.end_ms > s))
    if overlapping is not None:
        raise overlap(kind, user, actor, overlapping)
    if kind == "desk":
        _limits(session, policy, tz, user, start)
    row = Booking(
        building_id=building,
        desk_id=space.id if kind == "desk" else None,
        room_id=space.id if kind == "room" else None,
        space_code=space.code,
        space_kind=kind,
        user_id=user.id,
        booked_by=actor.username,
        start_ms=s,
        end_ms=e,
        state="booked",
        series_id=series,
        created_ms=now_ms(),
        origin=origin,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # PostgreSQL's exclusion constraint: a race lost
        raise race_lost(space) from exc
    record(
        session,
        actor=actor.username,
        action="booking.create",
        target_kind="booking",
        target_id=str(row.id),
        space=space.code,
        user=user.username,
        start=start.isoformat(),
        end=end.isoformat(),
        **({"via": origin} if origin else {}),
    )
    return row


def _team(session: Session, desk: Desk) -> str | None:
    if desk.neighbourhood_id is None:
        return None
    zone = session.get(Zone, desk.neighbourhood_id)
    return zone.team if zone else None


def _limits(session: Session, policy: Policy, tz: ZoneInfo, user: User, start: datetime) -> None:
    day = start.astimezone(tz).date()
    counts = []
    for begin, end in limit_spans(day, tz):
        counts.append(
            session.scalar(
                select(func.count()).where(
                    Booking.user_id == user.id,
                    Booking.space_kind == "desk",
                    Booking.state.in_(COUNTED),
                    Booking.start_ms >= begin,
                    Booking.start_ms < end,
                )
            )
            or 0
        )
    refused = over_limit(policy, user, counts[0], counts[1])
    if refused is not None:
        raise refused


COUNTED: Final = (*ACTIVE, "completed")
"""The states a desk booking counts in towards the limits."""


def limit_spans(day: date, tz: ZoneInfo) -> tuple[tuple[int, int], tuple[int, int]]:
    """The day's and its week's spans (ms) within which desk bookings' starts are counted."""
    midnight = day_start(day, tz)
    week_start = midnight - timedelta(days=day.weekday())
    return (
        (to_ms(midnight), to_ms(midnight + timedelta(days=1))),
        (to_ms(week_start), to_ms(week_start + timedelta(days=7))),
    )


def over_limit(policy: Policy, user: User, on_day: int, in_week: int) -> Refusal | None:
    """The limit a desk booking more breaks, with ``on_day`` and ``in_week`` already held."""
    if on_day >= policy.max_per_day:
        what = N_("at most {limit} desk booking(s) a day; {user} has {count}")
        return Refusal(
            "max_per_day", T(what, limit=policy.max_per_day, user=user.username, count=on_day)
        )
    if in_week >= policy.max_per_week:
        what = N_("at most {limit} desk booking(s) a week; {user} has {count}")
        return Refusal(
            "max_per_week", T(what, limit=policy.max_per_week, user=user.username, count=in_week)
        )
    return None


def unbookable(space: Space) -> Refusal:
    """The desk or room is not bookable."""
    kind = "desk" if isinstance(space, Desk) else "room"
    return Refusal("not_bookable", T(_SAID[kind, "not_bookable"], space=space.code))


def blocked(desk: Desk, block: DeskBlock) -> Refusal:
    """The desk is blocked (maintenance) at the time asked."""
    return Refusal(
        "maintenance", T("desk {desk} is blocked: {reason}", desk=desk.code, reason=block.reason)
    )


def team_refusal(desk: Desk, team: str | None, user: User, actor: Principal) -> Refusal | None:
    """A desk of a team's zone is for that team (a manager may book it for anyone)."""
    if team is None or team == user.team or actor.username != user.username:
        return None
    return Refusal(
        "team_zone", T("desk {desk} is reserved for team {team}", desk=desk.code, team=team)
    )


class Held(Protocol):
    """A booking as the refusals name it (a row, or one of ``server.bookings.bulk``)."""

    @property
    def space_code(self) -> str: ...
    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...


def conflict(space: Space, taken: Held, tz: ZoneInfo) -> Refusal:
    """The space is already booked then (``taken``)."""
    kind = "desk" if isinstance(space, Desk) else "room"
    return Refusal(
        "conflict",
        T(
            _SAID[kind, "conflict"],
            space=space.code,
            start=clock(taken.start_ms, tz),
            end=clock(taken.end_ms, tz),
        ),
        409,
    )


def overlap(kind: str, user: User, actor: Principal, other: Held) -> Refusal:
    """The person already has a desk (or room) then: said to them, or named to a manager."""
    said = _SAID[kind, "overlap_mine" if user.username == actor.username else "overlap_self"]
    return Refusal("overlap_self", T(said, user=user.username, space=other.space_code), 409)


def race_lost(space: Space) -> Refusal:
    """Another booking of the space was written first (PostgreSQL's exclusion constraint)."""
    kind = "desk" if isinstance(space, Desk) else "room"
    return Refusal("conflict_race", T(_SAID[kind, "conflict_race"], space=space.code), 409)


def public(row: Booking, tz: ZoneInfo) -> BookingPublic:
    """A booking row as the API shows it, times in the building's zone."""
    return BookingPublic.model_validate(row, context={"tz": tz})


def get(session: Session, *, actor: Principal, booking_id: int) -> tuple[Booking, ZoneInfo]:
    """A booking its owner, its booker or a manager may see."""
    row = session.get(Booking, booking_id)
    if row is None:
        raise NotFoundError(T("no booking {id}", id=booking_id))
    owner = _owner(session, row)
    mine = owner is not None and owner.username == actor.username
    if not (mine or row.booked_by == actor.username or actor.role in MANAGERS):
        raise NotFoundError(T("no booking {id}", id=booking_id))  # not telling who has it
    _, tz = building_tz(session, row.building_id)
    return row, tz


def cancel(
    session: Session, *, actor: Principal, booking_id: int, reason: str | None = None
) -> BookingPublic:
    """Cancel a booking not yet checked in.

    ``reason``: why, when it is not the person's own choice (their work plan changed); kept
    on the booking and in the audit log.
    """
    row, tz = get(session, actor=actor, booking_id=booking_id)
    if row.state != "booked":
        raise Refusal(
            "state",
            T(
                "booking {id} is {state}; only a booked one can be cancelled",
                id=booking_id,
                state=row.state,
            ),
            409,
        )
    now = now_utc()
    row.state, row.outcome = "cancelled", "cancelled"
    row.released_ms, row.release_reason = to_ms(now), reason
    record(
        session,
        actor=actor.username,
        action="booking.cancel",
        target_kind="booking",
        target_id=str(row.id),
        **({"reason": reason} if reason else {}),
    )
    desk_follows(session, row, now)
    return public(row, tz)


def _owner(session: Session, row: Booking) -> User | None:
    """Whose the booking is; None once anonymised."""
    return session.get(User, row.user_id) if row.user_id is not None else None


def on_behalf(session: Session, actor: Principal, row: Booking, doing: str) -> str | None:
    """None when ``actor`` owns the booking; the owner's name when a manager acts for them."""
    owner = _owner(session, row)
    if owner is not None and owner.username == actor.username:
        return None
    if actor.role not in MANAGERS:
        raise Refusal(
            "not_yours",
            T(doing),
            403,
        )
    return owner.username if owner is not None else "?"


class _ZoneOf(dict[str, ZoneInfo]):
    """Each building's time zone, read once per listing."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session

    def __missing__(self, building: str) -> ZoneInfo:
        tz = building_tz(self._session, building)[1]
        self[building] = tz
        return tz


def bookings(
    session: Session,
    *,
    actor: Principal,
    building: str | None = None,
    floor: str | None = None,
    day: date | None = None,
    user: str | None = None,
    reason: str | None = None,
) -> list[BookingPublic]:
    """The caller's bookings; managers may ask for a building, floor or day (without names).

    An agency's manager gets its floors' desks only.

    One person's bookings are the person's own; an administrator sees another's only with a
    stated ``reason`` (audited), as names in a building's list (server.bookings.visibility).
    """
    query = select(Booking).outerjoin(Booking.owner).options(contains_eager(Booking.owner))
    person = user if user is not None and user != actor.username else None
    if person is not None:
        may_see_person(session, actor, person, reason)
        query = query.where(User.username == person)
    elif user is not None or actor.role not in REPORTERS or building is None:
        query = query.where(User.username == actor.username)
    elif actor.scope is not None:  # an agency's manager: the desks of its floors
        ours = select(Desk.id).join(Floor, Floor.id == Desk.floor_id)
        query = query.where(Booking.desk_id.in_(ours.where(Floor.agency_id == actor.scope)))
    if day is not None:
        # A day in any building's zone lies within a day either side of the UTC day; the
        # exact local day is checked below.
        utc = datetime.combine(day, dtime(), ZoneInfo("UTC"))
        query = query.where(
            Booking.start_ms >= to_ms(utc - timedelta(days=1)),
            Booking.start_ms < to_ms(utc + timedelta(days=2)),
        )
    if building:
        query = query.where(Booking.building_id == building)
    if floor and building:
        ids = (
            select(Desk.id)
            .join(Floor, Floor.id == Desk.floor_id)
            .where(Floor.building_id == building, Floor.code == floor)
        )
        query = query.where(Booking.desk_id.in_(ids))
    rows = session.scalars(query.order_by(Booking.start_ms, Booking.id))
    out = []
    zones = _ZoneOf(session)
    named = person is not None or (actor.role in ADMINS and stated(reason) is not None)
    for row in rows:
        tz = zones[row.building_id]
        if day is not None and from_ms(row.start_ms, tz).date() != day:
            continue
        shown = public(row, tz)
        out.append(shown if named else _unnamed(shown, row, actor))
    if person is not None:
        audit_read(session, actor=actor, person=person, what="bookings", reason=reason or "")
    elif named and out:
        audit_read(
            session,
            actor=actor,
            person="*",
            reason=reason or "",
            what=f"bookings of {building} {floor or ''} {day or ''}".strip(),
        )
    return out


def one(
    session: Session, *, actor: Principal, booking_id: int, reason: str | None = None
) -> BookingPublic:
    """One booking: whole to its person and booker; to managers without names.

    An administrator stating a ``reason`` sees the names (and the read is audited).
    """
    row, tz = get(session, actor=actor, booking_id=booking_id)
    shown = public(row, tz)
    if actor.username in (shown.user, shown.booked_by):
        return shown
    if actor.role in ADMINS and stated(reason) is not None and shown.user is not None:
        audit_read(
            session, actor=actor, person=shown.user, what=f"booking {row.id}", reason=reason or ""
        )
        return shown
    return _unnamed(shown, row, actor)


def _unnamed(shown: BookingPublic, row: Booking, actor: Principal) -> BookingPublic:
    """The booking as a manager sees it: names only their own and people who opted in."""
    if row.owner is not None and (row.owner.username == actor.username or row.owner.share_location):
        return shown
    me = actor.username
    return shown.model_copy(
        update={
            "user": None,
            "booked_by": shown.booked_by if shown.booked_by == me else None,
            "checked_in_actor": shown.checked_in_actor if shown.checked_in_actor == me else None,
        }
    )


def colleagues(session: Session, *, actor: Principal, day: date) -> list[dict[str, object]]:
    """Where the caller's team sits on ``day``: colleagues who opted in, and their desks."""
    if actor.team is None:
        return []
    rows = session.execute(
        select(Booking, User.username, User.display_name)
        .join(User, User.id == Booking.user_id)
        .where(
            User.team == actor.team,
            User.share_location,
            User.username != actor.username,
            Booking.space_kind == "desk",
            Booking.state.in_((*ACTIVE, "completed")),
        )
        .order_by(User.display_name, Booking.start_ms, Booking.id)
    ).all()
    out: list[dict[str, object]] = []
    zones = _ZoneOf(session)
    for booking, username, name in rows:
        tz = zones[booking.building_id]
        start = from_ms(booking.start_ms, tz)
        if start.date() != day:
            continue
        desk = session.get(Desk, booking.desk_id) if booking.desk_id else None
        floor = session.get(Floor, desk.floor_id) if desk else None
        out.append(
            {
                "username": username,
                "display_name": name,
                "building": booking.building_id,
                "floor": floor.code if floor else None,
                "desk": booking.space_code,
                "start": start,
                "end": from_ms(booking.end_ms, tz),
                "here": booking.state == "checked_in",
            }
        )
    return out
