"""Work plans: each person's week, the days that differ, and what the agency's rules say.

A person keeps their own plan; their unit's head (atasan) sees the unit's week, with names;
colleagues of the unit see only who of those who opted in to the colleague finder is at the
office; managers see an agency's days in aggregate, small groups withheld
(``attendance``). A plan is checked against the agency's rules (office days a week, the
unit's team days) and the person is told; nothing ever changes a plan but its person.

The desk bookings that follow a plan: ``server.plans.follow``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.agencies.models import Unit
from server.audit.service import record
from server.auth.models import User
from server.auth.service import Principal
from server.bookings.models import ACTIVE, Booking
from server.bookings.visibility import audit_read
from server.calendar.dates import day_start, from_ms, to_ms, today_in
from server.calendar.hours import platform_zone, zone_for
from server.calendar.models import AgencyPolicy
from server.calendar.policy import closed_reason, policy_for
from server.clock import now_ms
from server.exceptions import Forbidden, NotFoundError
from server.i18n import N_, WEEKDAYS, T, say
from server.plans.models import PlanDay, WorkPlan
from server.plans.schemas import (
    EXCUSED,
    OFFICE,
    PLACE_NAMES,
    PLACES,
    DayCount,
    DayDoc,
    DayPlan,
    Finding,
    Place,
    PlannedBooking,
    PlanPublic,
    TeamMember,
    TeamWeek,
    WeekDoc,
)
from server.roles import REPORTERS
from server.spaces.models import Building, Desk, Floor, Zone
from server.suppression import withheld

MAX_DAYS = 62
"""The longest run of days one read covers (two months)."""
PLAN_RELEASE = "work plan: "
"""How a booking released because its day's plan changed starts its release reason."""


def user_row(session: Session, username: str) -> User:
    """The active account ``username``, or NotFoundError."""
    user = session.scalar(select(User).where(User.username == username, User.active))
    if user is None:
        raise NotFoundError(T("no active user {user}", user=repr(username)))
    return user


def plan_row(session: Session, user: User) -> WorkPlan:
    """The person's plan (an empty one, not yet kept, when they have none)."""
    row = session.get(WorkPlan, user.id)
    return row if row is not None else WorkPlan(user_id=user.id, week=",,,,,,", book_ahead_days=0)


def week_of(row: WorkPlan) -> list[Place | None]:
    """The plan's seven places, Monday first."""
    parts = (row.week or "").split(",")
    return [p if p in PLACES else None for p in (parts + [""] * 7)[:7]]


@dataclass(frozen=True, slots=True)
class Offices:
    """Where people work whose plan names no building.

    Their agency's building (the first by code where it has floors), else the platform's
    one building if there is only one.
    """

    by_agency: dict[str, str]
    sole: str | None

    def of(self, agency: str | None) -> str | None:
        """The office of a person of ``agency`` (None: the platform's own staff)."""
        found = self.by_agency.get(agency) if agency is not None else None
        return found or self.sole


def offices(session: Session) -> Offices:
    """Every agency's office, read at once."""
    by_agency: dict[str, str] = {}
    for agency, building in session.execute(
        select(Floor.agency_id, Floor.building_id)
        .where(Floor.agency_id.is_not(None))
        .order_by(Floor.building_id)
    ):
        if agency is not None:
            by_agency.setdefault(agency, building)
    only = session.scalars(select(Building.id).limit(2)).all()
    return Offices(by_agency, only[0] if len(only) == 1 else None)


def office_of(session: Session, user: User, row: WorkPlan) -> str | None:
    """The person's office: their plan's building, else their agency's (``Offices``)."""
    return row.building_id or offices(session).of(user.agency_id)


def zone_of_person(session: Session, user: User, row: WorkPlan) -> ZoneInfo:
    """The time zone of the person's days: their office's, else the platform's."""
    building = office_of(session, user, row)
    return zone_for(session, building) if building else platform_zone(session)


def days_of(session: Session, user: User, first: date, last: date) -> dict[date, PlanDay]:
    """The person's days set otherwise than the week, from ``first`` to ``last``."""
    rows = session.scalars(
        select(PlanDay).where(
            PlanDay.user_id == user.id,
            PlanDay.day >= first.isoformat(),
            PlanDay.day <= last.isoformat(),
        )
    )
    return {date.fromisoformat(r.day): r for r in rows}


def place_on(week: list[Place | None], days: dict[date, PlanDay], day: date) -> Place | None:
    """Where the plan puts the person on ``day``."""
    own = days.get(day)
    if own is not None:
        return own.place if own.place in PLACES else None
    return week[day.weekday()]


def _span(start: date | None, count: int, tz: ZoneInfo) -> list[date]:
    if not 1 <= count <= MAX_DAYS:
        raise Forbidden(T("a plan is read for 1 to {n} days at a time", n=MAX_DAYS))
    first = start or today_in(tz)
    return [first + timedelta(days=i) for i in range(count)]


def plan(
    session: Session,
    *,
    actor: Principal,
    start: date | None = None,
    count: int = 14,
    language: str = "en",
) -> PlanPublic:
    """The actor's own plan for ``count`` days from ``start`` (today), with what it misses."""
    user = user_row(session, actor.username)
    row = plan_row(session, user)
    tz = zone_of_person(session, user, row)
    span = _span(start, count, tz)
    week = week_of(row)
    # Whole weeks around the days asked, so a week's office days are counted whole.
    monday = span[0] - timedelta(days=span[0].weekday())
    sunday = span[-1] + timedelta(days=6 - span[-1].weekday())
    own = days_of(session, user, monday, sunday)
    building = office_of(session, user, row)
    closed = _closed(session, building, user.agency_id, monday, sunday, language)
    held = _bookings(session, user, tz, monday, sunday)
    shown = []
    for day in span:
        place = place_on(week, own, day)
        b = held.get(day)
        shown.append(
            DayPlan(
                day=day,
                place=place,
                source="day" if day in own else "week",
                note=own[day].note if day in own else None,
                closed=closed.get(day),
                booking=(
                    PlannedBooking(
                        id=b.id,
                        building=b.building_id,
                        space=b.space_code,
                        state=b.state,
                        by_plan=b.origin == "plan",
                    )
                    if b is not None
                    else None
                ),
            )
        )
    findings = check(
        session,
        user=user,
        week=week,
        own=own,
        closed=closed,
        held=held,
        first=monday,
        last=sunday,
        language=language,
    )
    return PlanPublic(
        user=user.username,
        week=week,
        building=building,
        zone=_code(session, Zone, row.zone_id),
        desk=_code(session, Desk, row.desk_id),
        book_ahead_days=row.book_ahead_days,
        days=shown,
        findings=[f for f in findings if f.day is None or span[0] <= f.day <= span[-1]],
    )


def _code(session: Session, model: type[Zone] | type[Desk], row_id: int | None) -> str | None:
    if row_id is None:
        return None
    return session.scalar(select(model.code).where(model.id == row_id))


def _closed(
    session: Session,
    building: str | None,
    agency: str | None,
    first: date,
    last: date,
    language: str = "en",
) -> dict[date, str]:
    """Why the person's office is closed to them on each day it is (holidays, leave days)."""
    if building is None:
        return {}
    out = {}
    day = first
    while day <= last:
        policy = policy_for(session, building, None, agency)
        reason = closed_reason(session, building, day, policy)
        if day.weekday() not in policy.days:
            reason = reason or say(T("not an office day"), language)
        if reason is not None:
            out[day] = reason
        day += timedelta(days=1)
    return out


def _bookings(
    session: Session, user: User, tz: ZoneInfo, first: date, last: date
) -> dict[date, Booking]:
    """The person's desk booking of each day (one still held, else a plan's own)."""
    rows = session.scalars(
        select(Booking)
        .where(
            Booking.user_id == user.id,
            Booking.space_kind == "desk",
            Booking.start_ms >= to_ms(day_start(first, tz)),
            Booking.start_ms < to_ms(day_start(last + timedelta(days=1), tz)),
        )
        .order_by(Booking.start_ms)
    )
    out: dict[date, Booking] = {}
    for b in rows:
        day = from_ms(b.start_ms, tz).date()
        if b.state in ACTIVE or b.state == "completed" or day not in out:
            out[day] = b
    return out


def check(
    session: Session,
    *,
    user: User,
    week: list[Place | None],
    own: dict[date, PlanDay],
    closed: dict[date, str],
    held: dict[date, Booking],
    first: date,
    last: date,
    language: str,
) -> list[Finding]:
    """Where the plan misses the agency's rules, and bookings on days away (whole weeks)."""
    out: list[Finding] = []
    least = None
    if user.agency_id is not None:
        rules = session.get(AgencyPolicy, user.agency_id)
        least = rules.min_office_days if rules is not None else None
    team_days = _team_days(session, user)
    monday = first
    while monday <= last:
        days = [monday + timedelta(days=i) for i in range(7)]
        places = {d: place_on(week, own, d) for d in days}
        if least is not None:
            open_days = [d for d in days if d not in closed and places[d] not in EXCUSED]
            needed = min(least, len(open_days))
            at_office = sum(1 for d in open_days if places[d] in OFFICE)
            if at_office < needed:
                out.append(
                    Finding(
                        rule="min_office_days",
                        week_of=monday,
                        message=say(
                            T(
                                "the week of {day} has {count} office day(s); your agency "
                                "asks for at least {least}",
                                day=monday.isoformat(),
                                count=at_office,
                                least=needed,
                            ),
                            language,
                        ),
                    )
                )
        for d in days:
            if (
                d.weekday() in team_days
                and d not in closed
                and places[d] not in OFFICE
                and places[d] not in EXCUSED
            ):
                out.append(
                    Finding(
                        rule="team_day",
                        day=d,
                        message=say(
                            T(
                                "{weekday} {day} is your unit's team day, when it comes "
                                "in together",
                                weekday=T(WEEKDAYS[d.weekday()]),
                                day=d.isoformat(),
                            ),
                            language,
                        ),
                    )
                )
            b = held.get(d)
            away = places[d] is not None and places[d] not in OFFICE
            if away and b is not None and b.state in ACTIVE and b.origin != "plan":
                out.append(
                    Finding(
                        rule="booking_on_away_day",
                        day=d,
                        message=say(
                            T(
                                "you still hold desk {desk} on {day}, planned away from the "
                                "office: cancel it if you will not come",
                                desk=b.space_code,
                                day=d.isoformat(),
                            ),
                            language,
                        ),
                    )
                )
        monday += timedelta(days=7)
    return out


def _team_days(session: Session, user: User) -> set[int]:
    unit = _unit(session, user.agency_id, user.team)
    if unit is None or not unit.team_days:
        return set()
    return {int(d) for d in unit.team_days.split(",") if d.strip()}


def _unit(session: Session, agency: str | None, name: str | None) -> Unit | None:
    if agency is None or name is None:
        return None
    return session.scalar(select(Unit).where(Unit.agency_id == agency, Unit.name == name))


def set_week(session: Session, *, actor: Principal, doc: WeekDoc) -> WorkPlan:
    """Keep the actor's usual week, office and booking choice (audited)."""
    user = user_row(session, actor.username)
    row = session.get(WorkPlan, user.id)
    if row is None:
        row = WorkPlan(user_id=user.id, updated_ms=now_ms())
        session.add(row)
    building = doc.building
    if building is not None and session.get(Building, building) is None:
        raise NotFoundError(T("no building {building}", building=repr(building)))
    office = building or office_of(session, user, WorkPlan(user_id=user.id, week=""))
    row.zone_id = _place_id(session, Zone, office, doc.zone, "zone")
    row.desk_id = _place_id(session, Desk, office, doc.desk, "desk")
    row.week = ",".join(p or "" for p in doc.week)
    row.building_id = building
    row.book_ahead_days = doc.book_ahead_days
    row.updated_ms = now_ms()
    session.flush()
    record(
        session,
        actor=actor.username,
        action="plan.week",
        target_kind="person",
        target_id=actor.username,
        week=row.week,
        book_ahead_days=doc.book_ahead_days,
        agency=user.agency_id,
    )
    return row


def _place_id(
    session: Session,
    model: type[Zone] | type[Desk],
    building: str | None,
    code: str | None,
    kind: str,
) -> int | None:
    if code is None:
        return None
    found = (
        session.scalar(select(model.id).where(model.building_id == building, model.code == code))
        if building is not None
        else None
    )
    if found is None:
        missing = (
            N_("no zone {code} in your office")
            if kind == "zone"
            else N_("no desk {code} in your office")
        )
        raise NotFoundError(T(missing, code=repr(code)))
    return found


def set_day(session: Session, *, actor: Principal, day: date, doc: DayDoc) -> None:
    """Plan one day otherwise than the week (or as the week again, with no place); audited."""
    user = user_row(session, actor.username)
    row = session.scalar(
        select(PlanDay).where(PlanDay.user_id == user.id, PlanDay.day == day.isoformat())
    )
    if doc.place is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(
            PlanDay(
                user_id=user.id,
                day=day.isoformat(),
                place=doc.place,
                note=doc.note,
                updated_ms=now_ms(),
            )
        )
    else:
        row.place, row.note, row.updated_ms = doc.place, doc.note, now_ms()
    session.flush()
    record(
        session,
        actor=actor.username,
        action="plan.day",
        target_kind="person",
        target_id=actor.username,
        day=day.isoformat(),
        place=doc.place,
        agency=user.agency_id,
    )


def supervised(session: Session, actor: Principal) -> list[Unit]:
    """The units ``actor`` heads."""
    user = session.scalar(select(User).where(User.username == actor.username))
    if user is None:
        return []
    return list(
        session.scalars(select(Unit).where(Unit.supervisor_id == user.id).order_by(Unit.name))
    )


def team_week(
    session: Session,
    *,
    actor: Principal,
    unit: str | None = None,
    start: date | None = None,
    count: int = 7,
) -> TeamWeek:
    """A unit's people by day.

    To the unit's head: everyone's place, each read audited. To a member of the unit: the
    office days of the colleagues who opted in to the colleague finder, nothing else.
    """
    heads = {u.name: u for u in supervised(session, actor) if actor.agency in (None, u.agency_id)}
    name = unit or actor.team
    if name is None:
        raise NotFoundError(T("you belong to no unit; ask your agency's administrator"))
    row = heads.get(name)
    agency = row.agency_id if row is not None else actor.agency
    is_head = row is not None
    if not is_head and name != actor.team:
        raise Forbidden(T("only the head of unit {unit} sees its week", unit=name))
    if agency is None:
        raise NotFoundError(T("you belong to no agency"))
    found = row or _unit(session, agency, name)
    tz = platform_zone(session)
    span = _span(start, count, tz)
    people = session.scalars(
        select(User)
        .where(User.agency_id == agency, User.team == name, User.active)
        .order_by(User.display_name)
    ).all()
    if not is_head:
        people = [p for p in people if p.share_location or p.username == actor.username]
    own_days = _days_of_many(session, [p.id for p in people], span[0], span[-1])
    members = []
    for p in people:
        week = week_of(plan_row(session, p))
        places = [place_on(week, own_days.get(p.id, {}), d) for d in span]
        if not is_head and p.username != actor.username:
            places = [x if x in OFFICE else None for x in places]
        members.append(TeamMember(username=p.username, display_name=p.display_name, places=places))
    if is_head:
        audit_read(
            session,
            actor=actor,
            person="*",
            what=f"work plans of unit {name} from {span[0].isoformat()}",
            reason="unit head: the unit's week",
        )
    team_days = found.team_days if found is not None and found.team_days else ""
    return TeamWeek(
        agency=agency,
        unit=name,
        supervisor=is_head,
        team_days=[int(d) for d in team_days.split(",") if d.strip()],
        days=span,
        people=members,
    )


def _days_of_many(
    session: Session, ids: Iterable[int], first: date, last: date
) -> dict[int, dict[date, PlanDay]]:
    out: dict[int, dict[date, PlanDay]] = {}
    wanted = list(ids)
    if not wanted:
        return out
    for r in session.scalars(
        select(PlanDay).where(
            PlanDay.user_id.in_(wanted),
            PlanDay.day >= first.isoformat(),
            PlanDay.day <= last.isoformat(),
        )
    ):
        out.setdefault(r.user_id, {})[date.fromisoformat(r.day)] = r
    return out


def attendance(
    session: Session,
    *,
    actor: Principal,
    agency: str,
    start: date | None = None,
    count: int = 14,
    min_group: int = 5,
) -> list[DayCount]:
    """How many of ``agency``'s people plan each place, by day; small groups withheld."""
    if actor.role not in REPORTERS or not actor.reaches(agency):
        raise Forbidden(T("expected attendance is for the agency's managers"))
    span = _span(start, count, platform_zone(session))
    people = session.execute(
        select(User.id, WorkPlan.week)
        .join(WorkPlan, WorkPlan.user_id == User.id, isouter=True)
        .where(User.agency_id == agency, User.active)
    ).all()
    own_days = _days_of_many(session, [p for p, _ in people], span[0], span[-1])
    out = []
    for day in span:
        members: dict[str, set[int]] = {p: set() for p in PLACES}
        for uid, raw in people:
            week = week_of(WorkPlan(week=raw or ""))
            place = place_on(week, own_days.get(uid, {}), day)
            if place is not None:
                members[place].add(uid)
        hide = withheld(members, min_group)
        out.append(
            DayCount(
                day=day,
                people=sum(len(m) for m in members.values()),
                places={p: None if p in hide else len(m) for p, m in members.items()},
            )
        )
    return out


CALENDAR_PLACES = ("office", "other_office", "travel", "leave")
"""The planned days a calendar feed shows, as all-day events."""


def calendar_days(
    session: Session, *, actor: Principal, language: str, past: int = 30, ahead: int = 62
) -> list[tuple[date, str, str]]:
    """The actor's office, travel and leave days as a calendar's all-day events."""
    user = user_row(session, actor.username)
    row = plan_row(session, user)
    tz = zone_of_person(session, user, row)
    first = today_in(tz) - timedelta(days=past)
    last = today_in(tz) + timedelta(days=ahead)
    week = week_of(row)
    own = days_of(session, user, first, last)
    if not own and not any(week):
        return []
    building = office_of(session, user, row)
    closed = _closed(session, building, user.agency_id, first, last, language)
    out = []
    day = first
    while day <= last:
        place = place_on(week, own, day)
        if place in CALENDAR_PLACES and (day not in closed or day in own):
            summary = say(T(PLACE_NAMES[place]), language)
            note = own[day].note if day in own and own[day].note else None
            out.append(
                (
                    day,
                    f"plan-{user.uid}-{day.isoformat()}",
                    f"{summary}: {note}" if note else summary,
                )
            )
        day += timedelta(days=1)
    return out


def zone_choices(session: Session, *, actor: Principal) -> list[tuple[str, str]]:
    """The zones a person may prefer: of their office's floors open to their agency."""
    user = user_row(session, actor.username)
    building = office_of(session, user, plan_row(session, user))
    if building is None:
        return []
    rows = session.execute(
        select(Zone.code, Zone.name, Floor.name)
        .join(Floor, Floor.id == Zone.floor_id)
        .where(
            Zone.building_id == building,
            Zone.kind.in_(("hvac", "neighbourhood")),
            (Floor.agency_id.is_(None)) | (Floor.agency_id == user.agency_id),
        )
        .order_by(Floor.level, Zone.code)
    ).all()
    return [(code, f"{floor} · {name}") for code, name, floor in rows]
