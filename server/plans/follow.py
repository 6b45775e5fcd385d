"""Desk bookings that follow work plans.

An office day within the person's ``book_ahead_days`` gets a whole-day desk booking, through
the booking service and its rules (and its audit and mail): their preferred desk if free,
else a free desk in their preferred zone, else in their unit's zone, else the building's
suggestion (a zone already in use first, so empty zones stay set back). A day planned
anywhere else releases the bookings the plan made for it (their reason says so). A day the
person already has a desk for, or whose booking they cancelled themselves, is left alone:
the plan never books over a person's own choice.

It runs when a person changes their plan (for the days changed) and in the periodic job
(``follow_all``), which books the day that comes into reach each morning.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.models import User
from server.auth.service import principal_of
from server.bookings import service as bookings
from server.bookings.availability import DeskFilter
from server.bookings.bulk import ANOTHER_DESK_HELPS, DeskAsk, RaceLost, book_desks
from server.bookings.models import Booking
from server.bookings.schemas import BookingCreate
from server.calendar.dates import day_start, from_ms, to_ms
from server.calendar.hours import opening, zone_for
from server.calendar.policy import policy_for
from server.clock import now_utc
from server.db import Database
from server.energy.consolidation import RankedDesk, ranked_desks
from server.exceptions import Refusal
from server.plans.models import PlanDay, WorkPlan
from server.plans.service import (
    PLAN_RELEASE,
    days_of,
    office_of,
    offices,
    place_on,
    week_of,
    zone_of_person,
)
from server.spaces.models import Desk, Zone

logger = logging.getLogger(__name__)
TRIES = 8
"""Desks tried for one day before the day is left unbooked (each refusal names its rule)."""


@dataclass
class Followed:
    """What following a plan did."""

    booked: list[tuple[date, str]] = field(default_factory=list)
    released: list[tuple[date, str]] = field(default_factory=list)
    failed: list[tuple[date, str]] = field(default_factory=list)


def follow(
    session: Session,
    *,
    user: User,
    days: Iterable[date] | None = None,
    now: datetime | None = None,
    pool: Pool | None = None,
) -> Followed:
    """Book and release the person's desks as their plan says, for ``days`` (default: ahead).

    ``pool``: free desks shared by a run over many people (``follow_all``).
    """
    now = now or now_utc()
    pool = pool or Pool()
    out = Followed()
    row = session.get(WorkPlan, user.id)
    if row is None:
        return out
    tz = zone_of_person(session, user, row)
    today = now.astimezone(tz).date()
    ahead = {today + timedelta(days=i) for i in range(row.book_ahead_days)}
    asked = set(days) if days is not None else ahead | _plan_booked(session, user, tz, now)
    wanted = sorted(d for d in asked if d >= today)
    if not wanted:
        return out
    week = week_of(row)
    own = days_of(session, user, wanted[0], wanted[-1])
    held = _held(session, user, tz, wanted[0], wanted[-1])
    building = office_of(session, user, row)
    for day in wanted:
        place = place_on(week, own, day)
        mine = held.get(day, [])
        doing = _decide(place, day, ahead, building, mine)
        if doing == "book":
            assert building is not None
            _book(session, user, row, building, day, now, out, pool)
        elif doing == "release":
            assert place is not None
            for b in mine:
                if _by_plan(b):
                    _release(session, user, b, place)
                    out.released.append((day, b.space_code))
    return out


def _decide(
    place: str | None,
    day: date,
    ahead: set[date],
    building: str | None,
    mine: Sequence[Booking | _Kept],
) -> str | None:
    """What following the plan does with ``day``: ``book``, ``release`` or nothing.

    One rule for a person's change (:func:`follow`) and for the job (:func:`follow_all`).
    """
    if place == "office":
        book = day in ahead and building is not None and not _leave_alone(mine)
        return "book" if book else None
    if place is not None and any(_by_plan(b) for b in mine):
        return "release"
    return None


def _plan_booked(session: Session, user: User, tz: ZoneInfo, now: datetime) -> set[date]:
    """The days the plan holds a desk for, from now on."""
    starts = session.scalars(
        select(Booking.start_ms).where(
            Booking.user_id == user.id,
            Booking.origin == "plan",
            Booking.state == "booked",
            Booking.end_ms > to_ms(now),
        )
    )
    return {from_ms(s, tz).date() for s in starts}


def _held(
    session: Session, user: User, tz: ZoneInfo, first: date, last: date
) -> dict[date, list[Booking]]:
    rows = session.scalars(
        select(Booking).where(
            Booking.user_id == user.id,
            Booking.space_kind == "desk",
            Booking.start_ms >= to_ms(day_start(first, tz)),
            Booking.start_ms < to_ms(day_start(last + timedelta(days=1), tz)),
        )
    )
    out: dict[date, list[Booking]] = {}
    for b in rows:
        out.setdefault(from_ms(b.start_ms, tz).date(), []).append(b)
    return out


def _leave_alone(mine: Sequence[Booking | _Kept]) -> bool:
    """Whether the day has a booking the plan must not book over.

    Any booking counts (held, used, or cancelled or released by the person or the sensors)
    but one the plan itself released when the day was planned elsewhere.
    """
    return any(
        not (b.state == "cancelled" and (b.release_reason or "").startswith(PLAN_RELEASE))
        for b in mine
    )


def _book(
    session: Session,
    user: User,
    row: WorkPlan,
    building: str,
    day: date,
    now: datetime,
    out: Followed,
    pool: Pool,
) -> None:
    actor = principal_of(user)
    last = "no free desk"
    for code in _candidates(session, user, row, building, day, now, pool):
        ask = BookingCreate(building=building, desk=code, day=day)
        try:
            with session.begin_nested():
                bookings.create(session, actor=actor, new=ask, now=now, origin="plan")
        except Refusal as refusal:
            last = str(refusal.args[0])
            if refusal.rule not in ANOTHER_DESK_HELPS:
                break  # a rule of the day or the person (closed, limits): no desk helps
            if refusal.rule in ("conflict", "conflict_race", "not_bookable", "maintenance"):
                pool.took(building, day, code)  # nobody may have it now
            continue
        out.booked.append((day, code))
        pool.took(building, day, code)
        return
    out.failed.append((day, last))


class Pool:
    """Free desks per building, day and kind of person, read once for a run of many people.

    The suggestion's ranking of a building's free desks for a day is the same for everyone
    of one agency and unit: it is read once, and the desks booked since are passed over. A
    desk booked meanwhile by someone else is refused by the booking service, and the next
    one is tried.
    """

    def __init__(self) -> None:
        self.ranked: dict[tuple[str, date, str | None, str | None], list[RankedDesk]] = {}
        self.taken: dict[tuple[str, date], set[str]] = {}
        self._teams: dict[str, bool] = {}
        self._zones: dict[int, str | None] = {}
        self._tz: dict[str, ZoneInfo] = {}
        self._team_zones: dict[tuple[str, str], frozenset[str]] = {}

    def teams(self, session: Session, building: str) -> bool:
        """Whether any zone of ``building`` is reserved for a team."""
        if building not in self._teams:
            found = session.scalar(
                select(Zone.id).where(Zone.building_id == building, Zone.team.is_not(None)).limit(1)
            )
            self._teams[building] = found is not None
        return self._teams[building]

    def free(
        self,
        session: Session,
        user: User,
        building: str,
        day: date,
        span: tuple[datetime, datetime],
        now: datetime,
    ) -> list[RankedDesk]:
        """The day's free desks for the person, best first, less those taken this run."""
        # The ranking differs by agency (whose floors) and, where zones are reserved for
        # teams, by team; not by person.
        key = (building, day, user.agency_id, user.team if self.teams(session, building) else None)
        if key not in self.ranked:
            self.ranked[key] = ranked_desks(
                session,
                actor=principal_of(user),
                building=building,
                start=span[0],
                end=span[1],
                desks=DeskFilter(None, None, None, None, None),
                limit=100_000,
                now=now,
            )
        taken = self.taken.get((building, day), set())
        return [r for r in self.ranked[key] if r.desk.id not in taken]

    def zone_of(self, session: Session, building: str) -> ZoneInfo:
        """The time zone of ``building``."""
        if building not in self._tz:
            self._tz[building] = zone_for(session, building)
        return self._tz[building]

    def zone_code(self, session: Session, zone_id: int) -> str | None:
        """The code of zone ``zone_id`` (None: no longer there)."""
        if zone_id not in self._zones:
            self._zones[zone_id] = session.scalar(select(Zone.code).where(Zone.id == zone_id))
        return self._zones[zone_id]

    def team_zones(self, session: Session, building: str, team: str) -> frozenset[str]:
        """The codes of the zones of ``building`` reserved for ``team``."""
        key = (building, team)
        if key not in self._team_zones:
            ours = select(Zone.code).where(Zone.building_id == building, Zone.team == team)
            self._team_zones[key] = frozenset(session.scalars(ours))
        return self._team_zones[key]

    def took(self, building: str, day: date, desk: str) -> None:
        """``desk`` was booked for ``day``: nobody else is offered it this run."""
        self.taken.setdefault((building, day), set()).add(desk)


def _candidates(
    session: Session,
    user: User,
    row: WorkPlan,
    building: str,
    day: date,
    now: datetime,
    pool: Pool,
) -> list[str]:
    """Desks to try, best first: the preferred desk, zone, the unit's zone, the suggestion."""
    first: list[str] = []
    if row.desk_id is not None:
        desk = session.get(Desk, row.desk_id)
        if desk is not None and desk.building_id == building:
            first.append(desk.code)
    ordered = _ranked(session, user, row, building, day, now, pool, {})
    return [*first, *(code for code in ordered if code not in first)][:TRIES]


def _preferred(
    session: Session,
    user: User,
    row: WorkPlan,
    building: str,
    ranked: list[RankedDesk],
    pool: Pool,
) -> list[RankedDesk]:
    """The suggestion's desks, the person's preferred zone first, then their unit's."""
    zone = pool.zone_code(session, row.zone_id) if row.zone_id is not None else None
    team = pool.team_zones(session, building, user.team) if user.team else frozenset()

    def rank(r: RankedDesk) -> int:
        if zone is not None and zone in (r.desk.zone, r.desk.neighbourhood):
            return 0
        return 1 if r.desk.neighbourhood in team else 2

    return sorted(ranked, key=rank)  # stable: the suggestion's order within each rank


def _release(session: Session, user: User, b: Booking, place: str) -> None:
    """Cancel the plan's booking of a day now planned elsewhere, saying why."""
    reason = f"{PLAN_RELEASE}{place}"
    bookings.cancel(session, actor=principal_of(user), booking_id=b.id, reason=reason)


@dataclass(frozen=True, slots=True)
class _Want:
    """A person whose plan wants a desk on a day (``follow_all``), by id."""

    user: int


@dataclass(frozen=True, slots=True)
class _Kept:
    """What deciding a day needs of a person's booking."""

    day: date
    state: str
    origin: str | None
    release_reason: str | None


@dataclass
class _Work:
    """What every plan asks for: desks by building and day, and days to release, by person."""

    booking: dict[tuple[str, date], list[_Want]] = field(default_factory=dict)
    releasing: dict[int, list[date]] = field(default_factory=dict)


def _work(session: Session, now: datetime) -> _Work:
    """Every plan that books ahead, decided as :func:`follow` decides one, read at once."""
    work = _Work()
    plans = session.execute(
        select(WorkPlan, User)
        .join(User, User.id == WorkPlan.user_id)
        .where(WorkPlan.book_ahead_days > 0, User.active)
        .order_by(WorkPlan.user_id)
    )
    found = offices(session)
    zones: dict[str | None, ZoneInfo] = {}
    people = []
    for row, user in plans:
        building = row.building_id or found.of(user.agency_id)
        if building not in zones:
            zones[building] = zone_for(session, building)
        people.append((row, user, building, zones[building]))
    if not people:
        return work
    earliest = min(day_start(now.astimezone(tz).date(), tz) for tz in zones.values())
    own: dict[int, dict[date, PlanDay]] = defaultdict(dict)
    for d in session.scalars(select(PlanDay).where(PlanDay.day >= earliest.date().isoformat())):
        own[d.user_id][date.fromisoformat(d.day)] = d
    # From the earliest midnight on: a person's today and after, and the plan's bookings.
    kept: dict[int, list[tuple[int, str, str | None, str | None]]] = defaultdict(list)
    for uid, start, state, origin, reason in session.execute(
        select(
            Booking.user_id,
            Booking.start_ms,
            Booking.state,
            Booking.origin,
            Booking.release_reason,
        ).where(
            Booking.user_id.is_not(None),
            Booking.space_kind == "desk",
            Booking.end_ms > to_ms(earliest),
        )
    ):
        if uid is not None:
            kept[uid].append((start, state, origin, reason))
    for row, user, building, tz in people:
        today = now.astimezone(tz).date()
        ahead = {today + timedelta(days=i) for i in range(row.book_ahead_days)}
        held: dict[date, list[_Kept]] = defaultdict(list)
        for start, state, origin, reason in kept.get(user.id, ()):
            b = _Kept(from_ms(start, tz).date(), state, origin, reason)
            held[b.day].append(b)
        by_plan = {d for d, bs in held.items() if any(_by_plan(b) for b in bs)}
        week = week_of(row)
        for day in sorted(d for d in ahead | by_plan if d >= today):
            doing = _decide(
                place_on(week, own.get(user.id, {}), day), day, ahead, building, held[day]
            )
            if doing == "book":
                assert building is not None
                work.booking.setdefault((building, day), []).append(_Want(user.id))
            elif doing == "release":
                work.releasing.setdefault(user.id, []).append(day)
    return work


def _by_plan(b: _Kept | Booking) -> bool:
    return b.origin == "plan" and b.state == "booked"


def _book_day(
    session: Session, building: str, day: date, wants: list[_Want], now: datetime, pool: Pool
) -> Followed:
    """Book the desks ``wants`` ask for in ``building`` on ``day``, together."""
    out = Followed()
    codes = dict(
        session.execute(select(Desk.id, Desk.code).where(Desk.building_id == building)).all()
    )
    ids = [w.user for w in wants]
    people: dict[int, tuple[User, WorkPlan]] = {}
    for chunk in range(0, len(ids), 500):
        for user, row in session.execute(
            select(User, WorkPlan)
            .join(WorkPlan, WorkPlan.user_id == User.id)
            .where(User.id.in_(ids[chunk : chunk + 500]), User.active)
        ):
            people[user.id] = (user, row)
    orders: dict[tuple[object, ...], list[str]] = {}
    asks = []
    for user, row in (people[i] for i in ids if i in people):
        ranked = _ranked(session, user, row, building, day, now, pool, orders)
        first = codes.get(row.desk_id) if row.desk_id is not None else None
        asks.append(DeskAsk(user=user, order=ranked, first=first))
    try:
        results = book_desks(session, building=building, day=day, asks=asks, now=now, origin="plan")
    except RaceLost:  # a desk was taken meanwhile: one by one, each refusal its own
        for ask in asks:
            user, row = people[ask.user.id]
            _book(session, user, row, building, day, now, out, pool)
        return out
    for result in results:
        if isinstance(result, Refusal):
            out.failed.append((day, str(result.args[0])))
        else:
            out.booked.append((day, result.space_code))
            pool.took(building, day, result.space_code)
    logger.debug("work plans: %s on %s, %d asked", building, day, len(wants))
    return out


def _ranked(
    session: Session,
    user: User,
    row: WorkPlan,
    building: str,
    day: date,
    now: datetime,
    pool: Pool,
    orders: dict[tuple[object, ...], list[str]],
) -> list[str]:
    """The free desks for the person, best first: their zone, their unit's, the suggestion.

    One list per kind of person (agency, team, preferred zone), shared by all its people.
    """
    # The team matters only where a zone of the building is reserved for one.
    key = (user.agency_id, user.team if pool.teams(session, building) else None, row.zone_id)
    if key not in orders:
        tz = pool.zone_of(session, building)
        start, end = opening(policy_for(session, building, None, user.agency_id), day, tz)
        if end <= now:
            orders[key] = []
        else:
            ranked = pool.free(session, user, building, day, (max(start, now), end), now)
            orders[key] = [
                r.desk.id for r in _preferred(session, user, row, building, ranked, pool)
            ]
    return orders[key]


def follow_all(
    db: Database, now: datetime | None = None, between: Callable[[], object] | None = None
) -> Followed:
    """Follow every plan that books ahead (the periodic job).

    What every plan asks is read at once; a day planned elsewhere is released person by
    person, and the desks are booked one building and day per transaction, together
    (``server.bookings.bulk``). ``between``: called between transactions (the job's
    cancellation point: the server stopping need not wait for the whole run).
    """
    now = now or now_utc()
    total = Followed()
    with db.session(commit=False) as session:
        work = _work(session, now)
    for uid, days in work.releasing.items():
        if between is not None:
            between()
        with db.session() as session:
            user = session.get(User, uid)
            if user is not None:
                total.released += follow(session, user=user, days=days, now=now).released
    pool = Pool()
    for (building, day), wants in sorted(work.booking.items()):
        if between is not None:
            between()
        try:
            with db.session() as session:
                done = _book_day(session, building, day, wants, now, pool)
        except Exception:
            logger.exception("booking the work plans' desks of %s on %s failed", building, day)
            continue
        total.booked += done.booked
        total.failed += done.failed
    if total.booked or total.released:
        logger.info(
            "work plans: %d desk(s) booked, %d released, %d day(s) left unbooked",
            len(total.booked),
            len(total.released),
            len(total.failed),
        )
    return total
