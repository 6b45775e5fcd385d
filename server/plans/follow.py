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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.models import User
from server.auth.service import principal_of
from server.bookings import service as bookings
from server.bookings.availability import DeskFilter
from server.bookings.models import Booking
from server.bookings.schemas import BookingCreate
from server.calendar.dates import day_start, from_ms, to_ms
from server.calendar.hours import opening
from server.calendar.policy import policy_for
from server.clock import now_utc
from server.db import Database
from server.energy.consolidation import RankedDesk, ranked_desks
from server.exceptions import Refusal
from server.plans.models import WorkPlan
from server.plans.service import (
    PLAN_RELEASE,
    days_of,
    office_of,
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
        if place == "office":
            if day in ahead and building is not None and not _leave_alone(mine):
                _book(session, user, row, building, day, now, out, pool)
        elif place is not None:
            for b in mine:
                if b.origin == "plan" and b.state == "booked":
                    _release(session, user, b, place)
                    out.released.append((day, b.space_code))
    return out


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


def _leave_alone(mine: list[Booking]) -> bool:
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
            if refusal.rule not in ("conflict", "conflict_race", "team_zone", "not_bookable"):
                break  # a rule of the day or the person (closed, limits): no desk helps
            if refusal.rule in ("conflict", "conflict_race", "not_bookable"):
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
    tz = zone_of_person(session, user, row)
    start, end = opening(policy_for(session, building, None, user.agency_id), day, tz)
    if end <= now:
        return first
    ranked = pool.free(session, user, building, day, (max(start, now), end), now)
    zone = session.get(Zone, row.zone_id) if row.zone_id is not None else None
    ours = select(Zone.code).where(Zone.building_id == building, Zone.team == user.team)
    team = set(session.scalars(ours)) if user.team else set()

    def rank(r: RankedDesk) -> int:
        if zone is not None and zone.code in (r.desk.zone, r.desk.neighbourhood):
            return 0
        return 1 if r.desk.neighbourhood in team else 2

    ordered = sorted(ranked, key=rank)  # stable: the suggestion's order within each rank
    return [*first, *(r.desk.id for r in ordered if r.desk.id not in first)][:TRIES]


def _release(session: Session, user: User, b: Booking, place: str) -> None:
    """Cancel the plan's booking of a day now planned elsewhere, saying why."""
    reason = f"{PLAN_RELEASE}{place}"
    bookings.cancel(session, actor=principal_of(user), booking_id=b.id, reason=reason)


def follow_all(db: Database, now: datetime | None = None) -> Followed:
    """Follow every plan that books ahead, one person per transaction (the periodic job)."""
    now = now or now_utc()
    total = Followed()
    pool = Pool()
    with db.session(commit=False) as session:
        ids = session.scalars(
            select(WorkPlan.user_id)
            .join(User, User.id == WorkPlan.user_id)
            .where(WorkPlan.book_ahead_days > 0, User.active)
            .order_by(WorkPlan.user_id)
        ).all()
    for uid in ids:
        try:
            with db.session() as session:
                user = session.get(User, uid)
                if user is None:
                    continue
                done = follow(session, user=user, now=now, pool=pool)
        except Exception:
            logger.exception("following the work plan of user %d failed", uid)
            continue
        total.booked += done.booked
        total.released += done.released
        total.failed += done.failed
    if total.booked or total.released:
        logger.info(
            "work plans: %d desk(s) booked, %d released, %d day(s) left unbooked",
            len(total.booked),
            len(total.released),
            len(total.failed),
        )
    return total
