"""Many people's whole-day desk bookings in one building on one day, in one transaction.

The work plans book thousands of days at once (``server.plans.follow``): one booking at a
time through :func:`server.bookings.service.create` costs a score of queries each. Here
what the rules look at is read once for the building and day (its desks, zones, floors and
their openings, blocks, the day's bookings and the people's own bookings of the week), and
each person's desk is chosen against it in memory, by the same rules in the same order and
with the same refusals as one booking (``server.bookings.service``): the day and the
hours, the desk (bookable, not blocked, the agency's floor, a team's zone), no conflict,
no second desk for the person, the daily and weekly limits. The bookings made are then
written together, each with its audit entry.

Concurrency as for one booking: on SQLite the transaction takes the database's one write
lock before reading; on PostgreSQL the people are locked (``FOR UPDATE``, in id order) and
the bookings table's exclusion constraint refuses any desk taken meanwhile, in which case
:class:`RaceLost` is raised with nothing written and the caller books one by one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.agencies import service as agencies
from server.audit.service import record_many
from server.auth.models import User
from server.auth.service import principal_of
from server.bookings import agencies as whose
from server.bookings import desks as leds
from server.bookings.models import ACTIVE, Booking, DeskBlock, FloorOpening
from server.bookings.rules import check_slot
from server.bookings.schemas import BookingCreate
from server.bookings.service import (
    COUNTED,
    blocked,
    conflict,
    limit_spans,
    over_limit,
    overlap,
    slots_of,
    team_refusal,
    unbookable,
)
from server.calendar.dates import day_start, to_ms
from server.calendar.hours import building_tz
from server.calendar.policy import Policy, policy_for
from server.clock import now_ms
from server.db import CHANGES_NOTHING
from server.exceptions import Refusal
from server.i18n import T
from server.spaces.models import Desk, Floor, Zone

ANOTHER_DESK_HELPS = frozenset(
    {"conflict", "conflict_race", "not_bookable", "maintenance", "agency_floor", "team_zone"}
)
"""Refusals of a desk, not of the person or the day: the next desk is tried."""


@dataclass(frozen=True, slots=True)
class DeskAsk:
    """A person who wants a desk for the whole day.

    ``first`` if it may be had, else the first of ``order`` that may (desk codes, best
    first; one list is shared by many asks and never changed).
    """

    user: User
    order: Sequence[str]
    first: str | None = None


@dataclass(slots=True)
class Booked:
    """A desk booking as the run knows it: read, or made here (its id once written)."""

    desk_id: int | None
    user_id: int | None
    space_code: str
    start_ms: int
    end_ms: int
    state: str = "booked"
    id: int = 0


class RaceLost(Exception):
    """Another transaction booked one of the desks first; nothing of this one was written."""


@dataclass
class _Day:
    """What the rules look at, for one building and day, read once."""

    session: Session
    building: str
    day: date
    tz: ZoneInfo
    now: datetime
    desks: dict[str, Desk]
    teams: dict[int, str | None]
    owners: dict[int, str | None]
    opened: dict[int, frozenset[str]]
    blocks: dict[int, list[DeskBlock]]
    taken: dict[int, list[Booked]]
    people: dict[int, list[Booked]]
    spans: tuple[tuple[int, int], tuple[int, int]]
    policies: dict[tuple[int | None, str | None], Policy] = field(default_factory=dict)
    slots: dict[int, tuple[int, int] | Refusal] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(
        cls,
        session: Session,
        building: str,
        day: date,
        tz: ZoneInfo,
        now: datetime,
        users: list[int],
    ) -> _Day:
        first, last = to_ms(day_start(day, tz)), to_ms(day_start(day + timedelta(days=1), tz))
        spans = limit_spans(day, tz)
        desks = {
            d.code: d for d in session.scalars(select(Desk).where(Desk.building_id == building))
        }
        # The building's desks as a subquery: the index on (desk, start, end) serves, and
        # PostgreSQL is not sent a list of hundreds of ids.
        ours = select(Desk.id).where(Desk.building_id == building).scalar_subquery()
        teams = dict(
            session.execute(select(Zone.id, Zone.team).where(Zone.building_id == building)).all()
        )
        owners = dict(
            session.execute(
                select(Floor.id, Floor.agency_id).where(Floor.building_id == building)
            ).all()
        )
        opened: dict[int, set[str]] = defaultdict(set)
        for floor_id, agency in session.execute(
            select(FloorOpening.floor_id, FloorOpening.agency_id).where(
                FloorOpening.floor_id.in_(list(owners)), FloorOpening.day == day.isoformat()
            )
        ):
            opened[floor_id].add(agency)
        blocks: dict[int, list[DeskBlock]] = defaultdict(list)
        for block in session.scalars(
            select(DeskBlock).where(
                DeskBlock.desk_id.in_(ours), DeskBlock.start_ms < last, DeskBlock.end_ms > first
            )
        ):
            blocks[block.desk_id].append(block)
        taken: dict[int, list[Booked]] = defaultdict(list)
        columns = (
            Booking.desk_id,
            Booking.user_id,
            Booking.space_code,
            Booking.start_ms,
            Booking.end_ms,
            Booking.state,
            Booking.id,
        )
        for row in session.execute(
            select(*columns).where(
                Booking.desk_id.in_(ours),
                Booking.state.in_(ACTIVE),
                Booking.start_ms < last,
                Booking.end_ms > first,
            )
        ):
            d, u, code, start, end, state, i = row
            if d is not None:
                taken[d].append(Booked(d, u, code, start, end, state, i))
        people: dict[int, list[Booked]] = defaultdict(list)
        week_start, week_end = spans[1]
        for chunk in range(0, len(users), 500):
            for row in session.execute(
                select(*columns).where(
                    Booking.user_id.in_(users[chunk : chunk + 500]),
                    Booking.space_kind == "desk",
                    Booking.state.in_(COUNTED),
                    Booking.start_ms < max(week_end, last),
                    Booking.end_ms > min(week_start, first),
                )
            ):
                d, u, code, start, end, state, i = row
                if u is not None:  # a desk since removed still counts towards the limits
                    people[u].append(Booked(d, u, code, start, end, state, i))
        return cls(
            session=session,
            building=building,
            day=day,
            tz=tz,
            now=now,
            desks=desks,
            teams=teams,
            owners=owners,
            opened={f: frozenset(a) for f, a in opened.items()},
            blocks=blocks,
            taken=taken,
            people=people,
            spans=spans,
        )

    def policy(self, desk: Desk, user: User) -> Policy:
        key = (desk.zone_id, user.agency_id)
        if key not in self.policies:
            self.policies[key] = policy_for(self.session, self.building, *key)
        return self.policies[key]

    def slot(self, policy: Policy) -> tuple[int, int] | Refusal:
        """The whole day's slot under ``policy``, or the refusal of the day (closed, hours)."""
        key = id(policy)
        if key not in self.slots:
            ask = BookingCreate(building=self.building, desk="-", day=self.day)
            [(start, end)] = slots_of(ask, policy, self.tz, self.now)
            try:
                check_slot(
                    self.session,
                    building=self.building,
                    policy=policy,
                    tz=self.tz,
                    start=start,
                    end=end,
                    now=self.now,
                )
                self.slots[key] = (to_ms(start), to_ms(end))
            except Refusal as refusal:
                self.slots[key] = refusal
        return self.slots[key]

    def agency_name(self, code: str) -> str:
        if code not in self.names:
            self.names[code] = agencies.agency(self.session, code).name
        return self.names[code]

    def judge(self, desk: Desk, user: User) -> tuple[int, int] | Refusal:
        """The slot ``user`` may have ``desk`` for, or the rule that refuses it."""
        policy = self.policy(desk, user)
        slot = self.slot(policy)
        if isinstance(slot, Refusal):
            return slot
        s, e = slot
        if not desk.bookable:
            return unbookable(desk)
        for block in self.blocks.get(desk.id, ()):
            if block.start_ms < e and block.end_ms > s:
                return blocked(desk, block)
        owner = self.owners.get(desk.floor_id)
        if not whose.may_sit(owner, self.opened.get(desk.floor_id, frozenset()), user.agency_id):
            assert owner is not None
            return whose.not_theirs(desk, self.agency_name(owner), self.day)
        team = self.teams.get(desk.neighbourhood_id) if desk.neighbourhood_id else None
        refused = team_refusal(desk, team, user, principal_of(user))
        if refused is not None:
            return refused
        for b in self.taken.get(desk.id, ()):
            if b.state in ACTIVE and b.start_ms < e and b.end_ms > s:
                return conflict(desk, b, self.tz)
        mine = self.people.get(user.id, ())
        for b in mine:
            if b.state in ACTIVE and b.start_ms < e and b.end_ms > s:
                return overlap("desk", user, principal_of(user), b)
        (day0, day1), (week0, week1) = self.spans
        on_day = sum(1 for b in mine if day0 <= b.start_ms < day1)
        in_week = sum(1 for b in mine if week0 <= b.start_ms < week1)
        refused = over_limit(policy, user, on_day, in_week)
        return refused if refused is not None else (s, e)

    def took(self, row: Booked) -> None:
        assert row.desk_id is not None
        assert row.user_id is not None
        self.taken[row.desk_id].append(row)
        self.people[row.user_id].append(row)


def book_desks(
    session: Session,
    *,
    building: str,
    day: date,
    asks: Sequence[DeskAsk],
    now: datetime,
    origin: str,
) -> list[Booked | Refusal]:
    """Book each ask's desk for ``day`` as the booking service would, one after another.

    Returns, for each ask in order, its booking (as written, with its id; not in the
    session) or the refusal of the last desk tried. A
    person is not told one by one (``origin``'s own summary tells them); the audit log
    has every booking, and the maps learn of every desk.
    """
    if not asks:
        return []
    _, tz = building_tz(session, building)
    users = sorted({a.user.id for a in asks})
    _lock_people(session, users)
    facts = _Day.read(session, building, day, tz, now, users)
    out: list[Booked | Refusal] = []
    made: list[tuple[Booked, Desk]] = []
    cursors: dict[int, int] = {}  # per shared order: desks before it were all booked here
    booked: set[str] = set()
    for ask in asks:
        result: Booked | Refusal = Refusal("no_desk", T("no free desk"))
        for code in _desks(ask, cursors, booked):
            desk = facts.desks.get(code)
            if desk is None or code in booked:
                continue
            judged = facts.judge(desk, ask.user)
            if isinstance(judged, Refusal):
                result = judged
                if judged.rule in ANOTHER_DESK_HELPS:
                    continue
                break
            result = Booked(desk.id, ask.user.id, desk.code, *judged)
            facts.took(result)
            booked.add(code)
            made.append((result, desk))
            break
        out.append(result)
    names = {a.user.id: a.user.username for a in asks}
    _write(session, building, made, names, tz, day, now, origin)
    return out


def _desks(ask: DeskAsk, cursors: dict[int, int], booked: set[str]) -> Iterator[str]:
    """The ask's desks in turn, passing over the start of its order already booked here.

    Many asks share one order, so each would otherwise walk past the same booked desks.
    """
    if ask.first is not None:
        yield ask.first
    order, key = ask.order, id(ask.order)
    at = cursors.get(key, 0)
    while at < len(order) and order[at] in booked:
        at += 1
    cursors[key] = at
    yield from islice(order, at, None)


def _lock_people(session: Session, users: list[int]) -> None:
    """Hold the people until the transaction ends (and, on SQLite, the write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        for chunk in range(0, len(users), 500):
            session.execute(
                select(User.id)
                .where(User.id.in_(users[chunk : chunk + 500]))
                .order_by(User.id)
                .with_for_update()
            )
    else:
        session.execute(
            update(User).where(User.id == users[0]).values(active=User.active),
            execution_options={CHANGES_NOTHING: True},
        )


def _write(
    session: Session,
    building: str,
    made: list[tuple[Booked, Desk]],
    users: dict[int, str],
    tz: ZoneInfo,
    day: date,
    now: datetime,
    origin: str,
) -> None:
    """Insert the bookings, then their audit entries and what the LEDs and maps show."""
    if not made:
        return
    created = now_ms()
    values = [
        {
            "building_id": building,
            "desk_id": row.desk_id,
            "space_code": row.space_code,
            "space_kind": "desk",
            "user_id": row.user_id,
            "booked_by": users[row.user_id or 0],
            "start_ms": row.start_ms,
            "end_ms": row.end_ms,
            "state": "booked",
            "created_ms": created,
            "origin": origin,
        }
        for row, _ in made
    ]
    try:
        with session.begin_nested():
            # One statement for them all, without RETURNING: the database need not be sent
            # thousands of parameters in one text; the ids are read back by desk and start.
            session.execute(insert(Booking), values)
    except IntegrityError as exc:  # PostgreSQL's exclusion constraint: a desk taken meanwhile
        raise RaceLost(str(exc.orig)) from exc
    starts = [row.start_ms for row, _ in made]
    ids = {
        (desk_id, start): i
        for i, desk_id, start in session.execute(
            select(Booking.id, Booking.desk_id, Booking.start_ms).where(
                Booking.desk_id.in_(select(Desk.id).where(Desk.building_id == building)),
                Booking.start_ms >= min(starts),
                Booking.start_ms <= max(starts),
                Booking.state == "booked",
                Booking.origin == origin,
            )
        )
    }
    for row, _ in made:
        row.id = ids[row.desk_id, row.start_ms]
    record_many(
        session,
        [
            (
                users[row.user_id or 0],
                "booking.create",
                "booking",
                str(row.id),
                {
                    "space": desk.code,
                    "user": users[row.user_id or 0],
                    "start": datetime.fromtimestamp(row.start_ms / 1000, tz).isoformat(),
                    "end": datetime.fromtimestamp(row.end_ms / 1000, tz).isoformat(),
                    "via": origin,
                },
            )
            for row, desk in made
        ],
    )
    at = to_ms(now)
    desks = [desk for _, desk in made]
    if day == now.astimezone(tz).date():
        # Their live rows and floors read at once, and held, so each desk's turn finds them.
        held = leds.read_live(session, desks)
        zones: leds.ZoneCache = {}
        for desk in desks:
            leds.show(session, desk, at, zones, tell=True)
        del held
    else:
        leds.tell_many(session, desks, at)
