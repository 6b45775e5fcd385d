"""The demo's people and the days behind them: a building that has been lived in.

Each simulated desk has a person (an employee account such as ``asn-1-007``, who never
signs in) with a habit: *planners* book the evening before, *regulars* book a weekly
series for three weekdays, *walk-ins* scan the desk's QR code when they arrive, and a few
are *mostly remote*. Their days follow the fleet's occupant model (arrival around 08:00,
lunch, meetings) and the usual share of booked people do not come.

Before the demo starts, the past working days and today until now are lived through the
real services, at the moments things would have happened: bookings by the booking
service, sensor check-ins by the desk monitor from presence, no-show releases and
completions by its sweep, walk-ins by QR check-in. The readings of those days (presence,
room climate, energy) go to the reading store and are rolled up, so reports, heatmaps,
energy and savings have numbers from the first minute. From then on the fleet's sensors
run live, and :class:`LiveOffice` keeps the people booking and walking in.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Final

from sqlalchemy import select

from contracts.registry import SpaceRef
from server.auth.models import User
from server.auth.service import Principal
from server.bookings import checkin as checking
from server.bookings import service as bookings
from server.bookings.presence import DeskMonitor, Seen
from server.bookings.schemas import BookingCreate, Repeat
from server.calendar.dates import to_ms
from server.config import ServerSettings
from server.db import Database
from server.energy.actions import ActionConfig, ZoneActions, zone_facts
from server.energy.rollup import Rollups
from server.exceptions import NotFoundError, Refusal
from server.plans import forecast as forecasting
from server.plans.models import PlanDay, WorkPlan
from server.readings.store import StoredReading
from server.services import build_store, rollup_config
from server.spaces.service import desk_qr_key
from smartoffice.fleet import CIRCUITS, WITA, Fleet, Occupant, room_climate, zone_power

logger = logging.getLogger(__name__)
HABITS: Final = (("planner", 0.5), ("regular", 0.25), ("walk_in", 0.15), ("remote", 0.10))
STEP: Final = timedelta(minutes=5)
ENERGY_STEP: Final = timedelta(minutes=15)
DAY_STARTS, DAY_ENDS = 7, 19
# Per floor, the zone whose team works from anywhere on Fridays (ASN work flexibly): an
# empty zone in working hours, which the platform sets back.
WFA_ZONE: Final = {"2": "f2-south", "1": "f1-south"}
REGULAR_START: Final = 8.0  # a regular's weekly slot, and every booked slot's length
SLOT_HOURS: Final = 8.5  # the hours the sensors are simulated in (and people come)


@dataclass(frozen=True, slots=True)
class Person:
    """One desk's person and their habit."""

    username: str
    desk: str
    floor: str
    zone: str
    device: str
    habit: str
    weekdays: tuple[int, ...]  # a regular's days
    agency: str | None = None
    """The agency whose floor their desk is on (None: the building's floor)."""
    unit: str | None = None
    """Their unit (unit kerja) in it; without an agency, their zone stands for a team."""

    @property
    def team(self) -> str:
        return self.unit or self.zone

    @property
    def principal(self) -> Principal:
        return Principal(
            self.username, "employee", f"ASN {self.desk}", team=self.team, agency=self.agency
        )


def people_of(
    fleet: Fleet,
    floors: Mapping[str, str] | None = None,
    units: Mapping[str, tuple[str, str]] | None = None,
    seed: int = 7,
) -> list[Person]:
    """A person per desk node of the fleet, each with a habit.

    ``floors`` names each floor's agency: its desks' people are that agency's, in its first
    unit in the north wing and its second in the south (``units``).
    """
    rnd = random.Random(seed)
    out = []
    for d in fleet.devices:
        if d["kind"] != "desk":
            continue
        sp = d["space"]
        habit = rnd.choices([h for h, _ in HABITS], [w for _, w in HABITS])[0]
        days = tuple(sorted(rnd.sample(range(5), 3)))
        agency = (floors or {}).get(sp["floor"])
        pair = (units or {}).get(agency or "")
        unit = pair[1 if sp["zone"].endswith("south") else 0] if pair else None
        out.append(
            Person(
                f"asn-{sp['space'][2:]}",
                sp["space"],
                sp["floor"],
                sp["zone"],
                d["id"],
                habit,
                days,
                agency,
                unit,
            )
        )
    return out


def add_accounts(session: Any, people: list[Person]) -> None:
    """Employee accounts for the people (no password: they never sign in).

    Each in their agency and unit; those made by an earlier start move to them.
    """
    names = [p.username for p in people]
    known = {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}
    now = int(time.time() * 1000)
    for p in people:
        if p.username in known:
            known[p.username].agency_id, known[p.username].team = p.agency, p.team
        else:
            session.add(
                User(
                    username=p.username,
                    display_name=f"ASN {p.desk}",
                    team=p.team,
                    agency_id=p.agency,
                    role="employee",
                    source="local",
                    password_hash=None,
                    active=True,
                    created_ms=now,
                )
            )


def week_of(p: Person) -> list[str | None]:
    """The person's usual week as their work plan says it, from their habit.

    Planners and walk-ins come Monday to Thursday (and walk-ins Friday too), regulars on
    their three days, the mostly remote on Wednesday; the Friday zone works from anywhere.
    """
    if p.habit == "regular":
        week: list[str | None] = ["office" if d in p.weekdays else "home" for d in range(5)]
    elif p.habit == "remote":
        week = ["home", "home", "office", "home", "home"]
    else:
        week = ["office", "office", "office", "office"]
        week.append("office" if p.habit == "walk_in" else "home")
    if p.zone == WFA_ZONE.get(p.desk.split("-")[1]):
        week[4] = "elsewhere"
    return [*week, None, None]


def add_plans(session: Any, people: list[Person], today: date) -> None:
    """Each person's work plan (kept as it is on a later start), and a few days away.

    Regulars let the plan book their desk a week ahead; about one in twenty has leave and
    one in twenty official travel on a day of the next two weeks.
    """
    ids = dict(
        session.execute(
            select(User.username, User.id).where(User.username.in_([p.username for p in people]))
        ).all()
    )
    known = set(session.scalars(select(WorkPlan.user_id).where(WorkPlan.user_id.in_(ids.values()))))
    now = int(time.time() * 1000)
    for p in people:
        uid = ids.get(p.username)
        if uid is None or uid in known:
            continue
        ahead = 7 if p.habit == "regular" else 0
        session.add(
            WorkPlan(
                user_id=uid,
                week=",".join(x or "" for x in week_of(p)),
                book_ahead_days=ahead,
                updated_ms=now,
            )
        )
        luck = _luck("away", p.username)
        away = luck.random()
        if away < 0.1:
            day = today + timedelta(days=luck.randrange(1, 14))
            place, note = (
                ("leave", "Cuti tahunan") if away < 0.05 else ("travel", "Dinas ke Jakarta")
            )
            session.add(
                PlanDay(user_id=uid, day=day.isoformat(), place=place, note=note, updated_ms=now)
            )


def _luck(*parts: object) -> random.Random:
    """The same draw for the same person and day, whatever ran before."""
    return random.Random(zlib.crc32(repr(parts).encode()))


def slot(building: str, p: Person, day: date, pl: Plan) -> BookingCreate:
    """A planner's booking: a slot from the hour they come."""
    first = datetime.combine(day, datetime.min.time(), WITA) + timedelta(hours=pl.start)
    return BookingCreate(
        building=building, desk=p.desk, start=first, end=first + timedelta(hours=SLOT_HOURS)
    )


def tomorrows(p: Person, day: date) -> Occupant:
    """The person's day at their desk on a day other than the fleet's today."""
    return Occupant.draw(_luck("occupant", p.desk, day))


@dataclass(frozen=True, slots=True)
class Plan:
    """What a person does on a day: books it (from when), and whether they come."""

    books: bool
    comes: bool
    walks_in: bool
    start: float = REGULAR_START  # the booked slot's first hour (08.5 is 08:30)


def plan(p: Person, day: date, occupant: Occupant) -> Plan:
    """The person's day: bookers sometimes do not come (the occupant's no-show).

    A booker arrives around the start of their slot, as people do who know when they
    come; the occupant's arrival is set to match.
    """
    luck = _luck(p.username, day)
    if day.weekday() == 4 and p.zone == WFA_ZONE.get(p.desk.split("-")[1]):
        return Plan(False, False, False)  # the team works from anywhere on Fridays
    if p.habit == "planner":
        books = luck.random() < 0.8
        start = luck.choice((7.5, 8.0, 8.0, 8.5))
    elif p.habit == "regular":
        books, start = day.weekday() in p.weekdays, REGULAR_START
    else:
        comes = luck.random() < (0.6 if p.habit == "walk_in" else 0.1)
        return Plan(False, comes, comes)
    if books:
        occupant.arrive = start + luck.uniform(-0.2, 0.2)
    return Plan(books, books and not occupant.no_show, False, start)


@dataclass
class History:
    """What the filled-in days hold, for the demo's banner."""

    days: int = 0
    bookings: int = 0
    walk_ins: int = 0
    readings: int = 0


@dataclass
class _Sim:
    """The state that runs through the days: meters' counters, rooms' CO2, desks."""

    counters: dict[tuple[str, int], float] = field(default_factory=dict)
    co2: dict[str, float] = field(default_factory=dict)
    here: dict[str, bool] = field(default_factory=dict)
    readings: list[StoredReading] = field(default_factory=list)


class Past:
    """Lives the building's past working days through the real services."""

    def __init__(
        self, settings: ServerSettings, fleet: Fleet, building: str, people: list[Person]
    ) -> None:
        self.settings, self.fleet, self.building, self.people = settings, fleet, building, people
        self.rooms: dict[str, list[dict[str, Any]]] = {}  # zone -> its rooms, busiest first
        for d in fleet.devices:
            if d["kind"] == "room":
                self.rooms.setdefault(d["space"]["zone"], []).append(d)
        self.meters = {d["space"]["zone"]: d for d in fleet.devices if d["kind"] == "energy"}
        self.places = {d["space"]["space"]: d["space"] for d in fleet.devices}
        self.seqs: dict[str, int] = {}

    def occupant(self, p: Person, day: date, today: date) -> Occupant:
        """Today's person is the fleet's own (its sensors go on from here)."""
        if day == today:
            return self.fleet.occupants[p.desk]
        return tomorrows(p, day)

    def run(self, *, days: int, until: datetime) -> History:
        """The last ``days`` working days before ``until``, and ``until``'s day so far."""
        db = Database(self.settings.sqlalchemy_url)
        quiet = logging.getLogger("server.bookings.presence")
        level = quiet.level
        quiet.setLevel(logging.WARNING)  # a release per no-show of ten days says nothing
        try:
            return self._run(db, days, until)
        finally:
            quiet.setLevel(level)
            db.close()

    def _run(self, db: Database, days: int, until: datetime) -> History:
        until = until.astimezone(WITA)
        today = until.date()
        work_days: list[date] = []
        d = today
        while len(work_days) < days + 1:
            if d.weekday() < 5:
                work_days.append(d)
            d -= timedelta(days=1)
        work_days.reverse()
        first = datetime.combine(work_days[0], datetime.min.time(), WITA)
        monitor = DeskMonitor(db=db)
        clock = [0.0]  # the zone actions' clock: the moment being lived
        actions = ZoneActions(ActionConfig(mode="command"), clock=lambda: clock[0])
        sim, history = _Sim(), History(days=len(work_days))
        # The meters' counters end where the live meters start.
        for (device, address), meter in self.fleet.meters.items():
            sim.counters[(device, address)] = meter.counter_wh
        energy = self._energy(first, until, work_days, today)
        for day in work_days:
            if day.weekday() == 0 or day == work_days[0]:
                self._week(db, day, history)
            plans = {
                p.desk: (p, plan(p, day, occ), occ)
                for p in self.people
                for occ in [self.occupant(p, day, today)]
            }
            if day == today:
                for _, pl, occ in plans.values():
                    occ.no_show = occ.no_show or not pl.comes  # the sensors agree live
            # The afternoon before, the forecast of the day is kept (as the live job does).
            afternoon = datetime.combine(day - timedelta(days=1), dtime(15, 30), WITA)
            with db.session() as session:
                forecasting.keep(session, building=self.building, now=afternoon)
            self._evening_before(db, day, plans, history)
            self._day(db, monitor, (actions, clock), day, until, plans, sim, history)
        readings = [*energy, *sim.readings]
        history.readings = len(readings)

        async def save() -> None:
            # The store's connections belong to this one event loop.
            store = build_store(self.settings)
            try:
                for i in range(0, len(readings), 5000):
                    await store.write(readings[i : i + 5000])
                await Rollups(db, store, rollup_config(self.settings)).roll(
                    self.building, since_ms=to_ms(first)
                )
            finally:
                await store.close()

        asyncio.run(save())
        return history

    def _week(self, db: Database, day: date, history: History) -> None:
        """On Sunday evening, the regulars book the rest of the week as a weekly series."""
        monday = day - timedelta(days=day.weekday())
        sunday = datetime.combine(monday - timedelta(days=1), datetime.min.time(), WITA)
        friday = monday + timedelta(days=4)
        asked = []
        for p in self.people:
            if p.habit != "regular":
                continue
            days = [w for w in p.weekdays if monday + timedelta(days=w) >= day]
            if not days:
                continue
            start = monday + timedelta(days=days[0])
            first = datetime.combine(start, datetime.min.time(), WITA)
            new = BookingCreate(
                building=self.building,
                desk=p.desk,
                start=first + timedelta(hours=REGULAR_START),
                end=first + timedelta(hours=REGULAR_START + SLOT_HOURS),
                repeat=Repeat(weekdays=days, until=friday),
            )
            asked.append((p, new))
        history.bookings += self._book(db, asked, sunday + timedelta(hours=19))

    def _evening_before(self, db: Database, day: date, plans: dict[str, Any], h: History) -> None:
        evening = datetime.combine(day - timedelta(days=1), datetime.min.time(), WITA)
        asked = [
            (p, slot(self.building, p, day, pl))
            for p, pl, _ in plans.values()
            if pl.books and p.habit == "planner"
        ]
        h.bookings += self._book(db, asked, evening + timedelta(hours=17, minutes=30))

    def _book(self, db: Database, asked: list[tuple[Person, BookingCreate]], at: datetime) -> int:
        """Bookings made at ``at`` by the booking service, in one transaction."""
        made = 0
        with db.session() as session:
            for p, new in asked:
                try:
                    with session.begin_nested():  # a refusal undoes only its own booking
                        made += len(
                            bookings.create(session, actor=p.principal, new=new, now=at).created
                        )
                except (Refusal, NotFoundError) as exc:
                    logger.debug("%s could not book %s: %s", p.username, p.desk, exc)
        return made

    def _day(
        self,
        db: Database,
        monitor: DeskMonitor,
        zones: tuple[ZoneActions, list[float]],
        day: date,
        until: datetime,
        plans: dict[str, Any],
        sim: _Sim,
        h: History,
    ) -> None:
        t = datetime.combine(day, datetime.min.time(), WITA) + timedelta(hours=DAY_STARTS)
        end = min(until, t.replace(hour=DAY_ENDS))
        walked: set[str] = set()
        while t < end:
            ts = to_ms(t)
            changed = []
            present: dict[str, int] = {}
            for p, pl, occ in plans.values():
                here = pl.comes and occ.at_desk(t)
                present[p.zone] = present.get(p.zone, 0) + here
                sim.readings.append(
                    self._reading("presence", p.device, p.desk, ts, {"occupied": here})
                )
                if here != sim.here.get(p.desk, False):
                    changed.append(Seen(self.building, p.desk, p.device, here, ts))
                    sim.here[p.desk] = here
                if here and pl.walks_in and p.desk not in walked:
                    walked.add(p.desk)
                    h.walk_ins += self._walk_in(db, p, t)
            monitor.apply(changed)
            if t.minute % 15 == 0:  # as often as no-shows need (the grace is 15 minutes)
                monitor.settle(ts)
                self._decide(db, zones, ts, present)
            if t.minute % 10 == 0:
                self._climate(ts, present, sim)
            t += STEP
        monitor.settle(to_ms(end))
        self._decide(db, zones, to_ms(end), {})  # closing time: the zones go off

    def _decide(
        self, db: Database, zones: tuple[ZoneActions, list[float]], ts: int, present: dict[str, int]
    ) -> None:
        """The zones' HVAC and lighting modes at ``ts``, decided as the server decides them."""
        actions, clock = zones
        clock[0] = ts / 1000
        in_use = {
            rooms[0]["space"]["space"]
            for zone, rooms in self.rooms.items()
            if present.get(zone, 0) >= 3
        }
        with db.session() as session:
            actions.evaluate(session, self.building, zone_facts(session, self.building, ts, in_use))

    def _walk_in(self, db: Database, p: Person, at: datetime) -> int:
        try:
            with db.session() as session:
                key = desk_qr_key(session, self.building, p.desk)  # they scan the label
                checking.desk_check_in(
                    session, actor=p.principal, building=self.building, desk=p.desk, key=key, now=at
                )
            return 1
        except (Refusal, NotFoundError) as exc:
            logger.debug("%s could not walk in at %s: %s", p.username, p.desk, exc)
            return 0

    def _climate(self, ts: int, present: dict[str, int], sim: _Sim) -> None:
        for zone, rooms in self.rooms.items():
            for index, room in enumerate(rooms):
                target, temp, rh = room_climate(present.get(zone, 0), index, room["space"]["space"])
                co2 = sim.co2.get(room["id"], 430.0)
                co2 += (target - co2) * 0.5  # ten minutes of the sensor's smoothing
                sim.co2[room["id"]] = co2
                air = {"co2_ppm": round(co2), "temp_c": round(temp, 1), "rh_pct": rh}
                sim.readings.append(
                    self._reading("env", room["id"], room["space"]["space"], ts, air)
                )

    def _energy(
        self, first: datetime, until: datetime, work_days: list[date], today: date
    ) -> list[StoredReading]:
        """Every zone meter every 15 minutes, counters ending at the live meters' start."""
        steps = []
        t = first
        while t < until:
            steps.append(t)
            t += ENERGY_STEP
        days = set(work_days)
        plans: dict[tuple[str, date], tuple[Plan, Occupant]] = {}

        def present(zone: str, t: datetime) -> int:
            n = 0
            if t.date() not in days:
                return 0
            for p in self.people:
                if p.zone != zone:
                    continue
                key = (p.desk, t.date())
                if key not in plans:
                    occ = self.occupant(p, t.date(), today)
                    plans[key] = (plan(p, t.date(), occ), occ)
                pl, occ = plans[key]
                n += pl.comes and occ.at_desk(t)
            return n

        out: list[StoredReading] = []
        for zone, meter in self.meters.items():
            crowd = [present(zone, t) for t in steps]  # once per step, for all circuits
            hours = ENERGY_STEP.total_seconds() / 3600
            for address, circuit in CIRCUITS.items():
                watts = [zone_power(address, n, t) for n, t in zip(crowd, steps, strict=True)]
                counter = self.fleet.meters[(meter["id"], address)].counter_wh - sum(watts) * hours
                for t, w in zip(steps, watts, strict=True):
                    out.append(
                        self._reading(
                            "energy",
                            meter["id"],
                            zone,
                            to_ms(t),
                            {"power_w": w, "energy_wh": round(counter, 1), "circuit": circuit},
                        )
                    )
                    counter += w * hours
        return out

    def _reading(
        self, stream: str, device: str, space: str, ts: int, fields: dict[str, Any]
    ) -> StoredReading:
        # Each reading carries its device's boot and sequence number, as on the wire (boot
        # 0: the days before the demo's nodes started); three meters share a timestamp.
        seq = self.seqs[device] = self.seqs.get(device, 0) + 1
        fields = {**fields, "boot": 0, "seq": seq}
        sp = self.places[space]
        ref = SpaceRef(
            building=sp["building"],
            floor=sp["floor"],
            zone=sp["zone"],
            space=sp["space"],
            space_kind=sp["space_kind"],
        )
        return StoredReading(stream=stream, ts_ms=ts, device=device, space=ref, fields=fields)


class LiveOffice:
    """The people from the demo's start on: walk-ins scan QR codes, planners book.

    Walk-ins check in at their desk when they sit down, and planners book the next working
    day in the late afternoon; through the running server's own database, so the maps and
    LEDs follow at once.
    """

    def __init__(
        self,
        db: Database,
        fleet: Fleet,
        building: str,
        people: list[Person],
        clock: Callable[[], datetime] = lambda: datetime.now(WITA),
    ) -> None:
        self.db, self.fleet, self.building, self.people = db, fleet, building, people
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-people", daemon=True)
        self._walked: set[tuple[str, date]] = set()
        self._booked: set[date] = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(20):
            try:
                self.step()
            except Exception:  # the demo goes on; the next step tries again
                logger.exception("the demo's people stumbled")

    def step(self) -> None:
        """What the people do now."""
        now = self.clock()
        today = now.date()
        for p in self.people:
            occ = self.fleet.occupants[p.desk]
            pl = plan(p, today, occ)
            if pl.walks_in and occ.at_desk(now) and (p.desk, today) not in self._walked:
                self._walked.add((p.desk, today))
                try:
                    with self.db.session() as session:
                        key = desk_qr_key(session, self.building, p.desk)
                        checking.desk_check_in(
                            session, actor=p.principal, key=key, building=self.building, desk=p.desk
                        )
                except (Refusal, NotFoundError):
                    pass
        if now.hour >= 16 and today not in self._booked:
            self._booked.add(today)
            nxt = today + timedelta(days=1)
            while nxt.weekday() >= 5:
                nxt += timedelta(days=1)
            for p in self.people:
                pl = plan(p, nxt, tomorrows(p, nxt))
                if p.habit == "planner" and pl.books:
                    new = slot(self.building, p, nxt, pl)
                    try:
                        with self.db.session() as session:
                            bookings.create(session, actor=p.principal, new=new)
                    except (Refusal, NotFoundError):
                        pass
