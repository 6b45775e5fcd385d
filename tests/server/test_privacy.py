"""Personal data: small groups withheld, retention with a moved clock, export and erasure.

The retention job runs on both relational databases (SQLite, PostgreSQL) and both reading
stores (SQLite, InfluxDB 1.x); its clock is the test's. The HTTP rules (who may see whose
bookings and attendance, audited reads) are in tests/server/test_auth.py.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from contracts.registry import SpaceRef
from harness.services import Service
from server.audit.models import AuditEntry
from server.auth.models import LoginFailure, User, WebSession
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.bookings.models import Booking
from server.bookings.reports import as_csv, utilization
from server.calendar.dates import to_ms
from server.config import ServerSettings
from server.db import Database
from server.energy.models import RollupState
from server.energy.occupancy import OccupancyQuery, occupancy
from server.energy.rollup import Rollups
from server.notify.models import MailMessage
from server.privacy import subject
from server.privacy.handlers import Context
from server.privacy.inventory import CATEGORIES
from server.privacy.models import RetentionRun
from server.privacy.notice import entries
from server.privacy.retention import Retention
from server.privacy.schemas import PrivacyDecision, PrivacyRequestCreate
from server.readings.influx import InfluxReadingStore
from server.readings.store import ReadingStore, Rollup, StoredReading, Window
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from server.spaces.service import find_desk_id
from server.suppression import withheld

WITA = ZoneInfo("Asia/Makassar")
B = "kantor-p"
DAY = date(2026, 6, 3)  # a Wednesday, long before the clock the tests move
H = 3_600_000
ZONES = {"za": 6, "zb": 6, "zc": 7}


def layout() -> dict[str, object]:
    desks = [
        {"id": f"{z}-{i}", "zone": z, "x": n, "y": 1}
        for n, (z, i) in enumerate((z, i) for z, k in ZONES.items() for i in range(k))
    ]
    return {"building": {"id": B, "name": "Kantor P"}, "floors": [{
        "id": "l1", "name": "Lantai 1", "level": 1, "width": 40, "height": 10,
        "zones": [{"id": z, "name": z} for z in ZONES], "desks": desks}]}  # fmt: skip


def at(day: date, hh: int) -> int:
    return to_ms(datetime(day.year, day.month, day.day, hh, tzinfo=WITA))


def person(db: Database, name: str, *, share: bool = False) -> User:
    with db.session() as s:
        create_user(s, actor="t", new=UserCreate(username=name, password="p" * 12,
                                                 role="employee", display_name=name,
                                                 email=f"{name}@kantor.example.go.id"))  # fmt: skip
        user = s.scalar(select(User).where(User.username == name))
        assert user is not None
        user.share_location = share
        s.flush()
        s.expunge(user)
        return user


def sat(db: Database, user: User, desk: str, day: date = DAY, outcome: str = "attended") -> int:
    """A finished booking of ``desk`` from 09:00 to 12:00 that ``user`` came to."""
    with db.session() as s:
        desk_id = find_desk_id(s, B, desk)
        row = Booking(building_id=B, desk_id=desk_id, space_code=desk, space_kind="desk",
                      user_id=user.id, booked_by=user.username, start_ms=at(day, 9),
                      end_ms=at(day, 12), state="completed", outcome=outcome,
                      created_ms=at(day, 8), checked_in_ms=at(day, 9) + 600_000,
                      checked_in_by="sensor", checked_out_ms=at(day, 12))  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def building(db: Database) -> Database:
    with db.session() as s:
        import_layout(s, parse_layout(layout()))
    return db


# ---- small groups ----------------------------------------------------------------------


def test_small_groups_are_withheld_with_the_smallest_others_until_no_total_gives_one_away() -> None:
    members = {"a": {1, 2, 3, 4, 5, 6}, "b": {7, 8}, "c": set(range(10, 17)), "d": set()}
    # b alone (2 people): a building total minus a and c would give b away, so a goes too.
    assert withheld(members, 5) == {"a", "b"}
    assert withheld(members, 2) == set()
    assert withheld(members, 1) == set()
    # Everyone in b chose to be visible: nothing to protect.
    assert withheld(members, 5, visible={7, 8}) == set()
    # Two small groups that together hold enough people protect each other.
    assert withheld({"x": {1, 2, 3}, "y": {4, 5, 6}, "z": set(range(10, 30))}, 5) == {"x", "y"}
    # One group only: withheld when small, and nothing else to add.
    assert withheld({"all": {1, 2}}, 5) == {"all"}


def test_the_utilisation_report_withholds_zones_of_too_few_people(building: Database) -> None:
    db = building
    staff = [person(db, f"p{i}") for i in range(15)]
    for i, p in enumerate(staff[:6]):
        sat(db, p, f"za-{i}")
    for i, p in enumerate(staff[6:8]):
        sat(db, p, f"zb-{i}")
    for i, p in enumerate(staff[8:]):
        sat(db, p, f"zc-{i}")
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=WITA)
    end = start + timedelta(days=1)
    with db.session() as s:
        rows = {r.group: r for r in utilization(s, building=B, start=start, end=end, by="zone",
                                                min_group=5)}  # fmt: skip
        (whole,) = utilization(s, building=B, start=start, end=end, by="building", min_group=5)
        desks = utilization(s, building=B, start=start, end=end, by="desk", min_group=5)
    # zb has 2 people: withheld, and za (the smaller other) with it; zc's 7 are shown.
    assert rows["zb"].withheld and rows["zb"].bookings is None and rows["zb"].desks == 6
    assert rows["za"].withheld and rows["za"].attended_hours is None
    assert not rows["zc"].withheld and rows["zc"].bookings == 7
    assert not whole.withheld and whole.bookings == 15
    # A desk is one person's here: every booked desk's row is withheld; nobody's are shown.
    assert {r.group for r in desks if r.withheld} == {f"za-{i}" for i in range(6)} | {
        "zb-0", "zb-1"} | {f"zc-{i}" for i in range(7)}  # fmt: skip
    assert all(r.bookings == 0 for r in desks if not r.withheld)
    # The CSV carries the same: empty figures and withheld=True.
    lines = as_csv(list(rows.values())).splitlines()
    assert lines[0].startswith("group,desks,open_desk_hours,withheld,bookings")
    assert any(line.startswith("zb,6,") and ",True,,," in line for line in lines)


def test_people_who_chose_to_be_visible_and_anonymised_bookings_are_not_withheld(
    building: Database,
) -> None:
    db = building
    a, b = person(db, "ani", share=True), person(db, "bayu", share=True)
    sat(db, a, "zb-0")
    sat(db, b, "zb-1")
    c = person(db, "cici")
    sat(db, c, "za-0")
    with db.session() as s:
        s.execute(Booking.__table__.update().where(Booking.user_id == c.id).values(user_id=None))
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=WITA)
    with db.session() as s:
        rows = {r.group: r for r in utilization(s, building=B, start=start,
                                                end=start + timedelta(days=1), by="zone",
                                                min_group=5)}  # fmt: skip
    assert not rows["zb"].withheld and rows["zb"].bookings == 2  # both opted in
    assert not rows["za"].withheld and rows["za"].bookings == 1  # names nobody any more


@pytest.mark.anyio
async def test_the_occupancy_report_withholds_groups_of_too_few_desks(
    building: Database, store: ReadingStore
) -> None:
    first = at(DAY, 8) // H * H
    rollups = Rollups(building, store)
    rep = await occupancy(building, rollups, OccupancyQuery(B, first, first + 8 * H, "zone",
                                                            0.7, 7))  # fmt: skip
    # za and zb have 6 desks each (under 7): withheld. Together they hold 12 desks, so the
    # building's total minus zc gives no small group away: zc's 7 are shown.
    assert rep.withheld == ["za", "zb"] and [g.group for g in rep.groups] == ["zc"]
    assert rep.min_group == 7


# ---- retention -------------------------------------------------------------------------


def presence(desk: str, ts: int, seq: int) -> StoredReading:
    ref = SpaceRef(building=B, floor="l1", zone=desk.split("-")[0], space=desk, space_kind="desk")
    return StoredReading("presence", ts, f"dn-{desk}", ref,
                         {"occupied": 1, "source": "pir", "boot": 1, "seq": seq,
                          "ts_gateway": 0})  # fmt: skip


def presence_hour(desk: str, hour: int) -> Rollup:
    tags = {"building": B, "floor": "l1", "zone": desk.split("-")[0], "space": desk,
            "space_kind": "desk"}  # fmt: skip
    return Rollup("presence", hour, f"dn-{desk}", "", tags, {"occupied_s": 3000.0,
                                                             "covered_s": 3600.0})  # fmt: skip


class Clock:
    """The test's clock: epoch seconds, moved by the test."""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t.timestamp()


@pytest.mark.anyio
async def test_each_category_is_kept_no_longer_than_its_setting(
    building: Database, store: ReadingStore
) -> None:
    db = building
    siti = person(db, "siti")
    booking = sat(db, siti, "za-0")
    with db.session() as s:
        s.add(
            MailMessage(to=siti.email, subject="Pemesanan", body="Meja za-0", created_ms=at(DAY, 8))
        )
        s.add(LoginFailure(username="siti", address="10.0.0.9", at_ms=at(DAY, 7)))
        s.add(
            WebSession(id="x" * 64, user_id=siti.id, created_ms=at(DAY, 7), expires_ms=at(DAY, 19))
        )
        s.add(AuditEntry(at_ms=at(DAY, 9), actor="siti", action="booking.create",
                         target_kind="booking", target_id=str(booking)))  # fmt: skip
        s.add(RollupState(building_id=B, done_until_ms=at(DAY + timedelta(days=400), 0),
                          updated_ms=0))  # fmt: skip
    await store.write([presence("za-0", at(DAY, 9) + i * 60_000, i) for i in range(30)])
    await store.write_rollups([presence_hour("za-0", at(DAY, 9))])
    settings = ServerSettings(_env_file=None, raw_retention_days=90,  # type: ignore[call-arg]
                              booking_retention_days=180)  # fmt: skip
    clock = Clock(datetime(DAY.year, DAY.month, DAY.day, 20, tzinfo=WITA))
    job = Retention(Context(db, store, settings.raw_retention_days), settings, clock=clock)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=WITA)

    def report() -> list[object]:
        with db.session() as s:
            return [r.model_dump() for r in utilization(
                s, building=B, start=start, end=start + timedelta(days=1), by="zone",
                min_group=1)]  # fmt: skip

    before = report()
    ran = {o.category: o for o in await job.run()}
    assert all(o.error is None for o in ran.values()), ran
    assert not any(ran[k].removed for k in ("bookings", "mail", "logins", "audit"))

    async def raw() -> int:
        return len(await store.points(stream="presence", fields=["occupied"], start_ms=0,
                                      end_ms=at(DAY, 23)))  # fmt: skip

    async def hours() -> int:
        rows = await store.rollups(
            kind="presence",
            values={"occupied_s": "sum"},
            window=Window(at(DAY, 0), at(DAY, 23), timedelta(days=1)),
        )
        return len(rows)

    assert await raw() == 30 and await hours() == 1

    clock.t += timedelta(days=31)  # mail and sign-ins are past their 30 days
    ran = {o.category: o for o in await job.run()}
    assert ran["mail"].removed == 1 and ran["logins"].removed == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(MailMessage)) == 0
        assert s.get(Booking, booking).user_id == siti.id  # type: ignore[union-attr]

    clock.t += timedelta(days=60)  # raw readings are past their 90 days
    await job.run()
    assert await raw() == 0 and await hours() == 1

    clock.t += timedelta(days=90)  # bookings are past their 180 days: anonymised
    ran = {o.category: o for o in await job.run()}
    assert ran["bookings"].removed == 1
    with db.session() as s:
        row = s.get(Booking, booking)
        assert row is not None and row.user_id is None and row.booked_by == ""
        assert (row.outcome, row.checked_in_ms, row.space_code) == (
            "attended",
            at(DAY, 9) + 600_000,
            "za-0",
        )
    assert report() == before  # the aggregates are what they were

    clock.t += timedelta(days=550)  # past two years: audit entries and desk-hours go
    ran = {o.category: o for o in await job.run()}
    assert ran["audit"].removed and await hours() == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "booking.create")) == 0  # fmt: skip
        runs = {r.category: r for r in s.scalars(select(RetentionRun))}
        # The retention job's own entry of this run is kept (it is new).
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "privacy.retention")) >= 1  # fmt: skip
    enforced = {c.key for c in CATEGORIES if c.retention}
    assert enforced <= set(runs) and all(
        runs[k].enforced_ms == int(clock() * 1000) for k in enforced
    )
    # The notice says when each was last enforced, and claims no problem.
    said = {e.key: e for e in entries(settings, runs, "en")}
    assert said["bookings"].kept == "180 days." and said["bookings"].problem is None
    assert said["account"].retention_days is None and said["presence"].enforced is not None


# ---- export and erasure ----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_person_exports_everything_and_an_erasure_leaves_the_aggregates(
    building: Database, store: ReadingStore
) -> None:
    db = building
    siti, budi = person(db, "siti"), person(db, "budi")
    mine = sat(db, siti, "za-0", day=date.today() - timedelta(days=1))
    sat(db, budi, "za-1", day=date.today() - timedelta(days=1))
    with db.session() as s:
        s.add(MailMessage(to=siti.email, subject="Pemesanan", body="Meja za-0",
                          created_ms=at(DAY, 8)))  # fmt: skip
    day = date.today() - timedelta(days=1)
    await store.write([presence("za-0", at(day, 10), 1)])
    settings = ServerSettings(_env_file=None)  # type: ignore[call-arg]
    ctx = Context(db, store, settings.raw_retention_days)
    got = await subject.export(ctx, settings, "siti", "id", int(datetime.now().timestamp() * 1000))
    parts = {c["key"]: c["records"] for c in got["categories"]}
    assert set(parts) == {c.key for c in CATEGORIES}
    assert parts["account"][0]["email"] == siti.email and "password_hash" not in json.dumps(got)
    assert [b["id"] for b in parts["bookings"]] == [mine]  # budi's is not in it
    assert parts["mail"][0]["body"] == "Meja za-0"
    assert parts["presence"] == [{"building": B, "desk": "za-0", "at": parts["presence"][0]["at"],
                                  "occupied": True}]  # fmt: skip
    assert got["categories"][0]["name"] == "Akun Anda"

    siti_p = Principal("siti", "employee", "siti")
    admin = Principal("root", "admin", "root")
    with db.session() as s:
        asked = subject.make_request(s, actor=siti_p, new=PrivacyRequestCreate(kind="erase"),
                                     now_ms=1)  # fmt: skip
    with db.session() as s, pytest.raises(Exception, match="refused"):
        subject.decide(s, admin=admin, request_id=asked.id, now_ms=2,
                       decision=PrivacyDecision(carry_out=False, answer="no"))  # fmt: skip
    with db.session() as s:
        done = subject.decide(s, admin=admin, request_id=asked.id, now_ms=3,
                              decision=PrivacyDecision(carry_out=True))  # fmt: skip
    assert done.state == "done" and done.decided_by == "root"
    with db.session() as s:
        assert s.scalar(select(User).where(User.username == "siti")) is None
        row = s.get(Booking, mine)
        assert row is not None and row.user_id is None and row.outcome == "attended"
        assert s.scalar(select(func.count()).select_from(MailMessage)) == 0
        trail = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert trail[-3:] == ["privacy.export", "privacy.request", "privacy.erase"]


@pytest.mark.anyio
async def test_a_store_that_cannot_delete_is_said_so_not_claimed(
    building: Database, influxd: Service, unique_name: str
) -> None:
    # An InfluxDB that refuses DELETE (here: a database that is not there; InfluxDB 2.x
    # refuses DELETE through the v1 API altogether).
    store = InfluxReadingStore(url=f"http://127.0.0.1:{influxd.port}", database=unique_name)
    settings = ServerSettings(_env_file=None)  # type: ignore[call-arg]
    try:
        ran = {o.category: o for o in await Retention(
            Context(building, store, settings.raw_retention_days), settings).run()}  # fmt: skip
    finally:
        await store.close()
    assert ran["presence"].error and "database not found" in ran["presence"].error
    assert ran["bookings"].error is None  # the others are enforced all the same
    with building.session() as s:
        runs = {r.category: r for r in s.scalars(select(RetentionRun))}
        s.expunge_all()
    said = {e.key: e for e in entries(settings, runs, "id")}
    assert said["presence"].problem is not None and said["presence"].enforced is None
    assert said["bookings"].problem is None and said["bookings"].enforced is not None
