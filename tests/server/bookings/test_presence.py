"""Presence keeps bookings honest (SQLite and PostgreSQL), on a clock the test moves."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from harness.calendar import office_hours
from harness.layouts import one_floor
from harness.services import free_port
from harness.smtp import Inbox
from server.auth.models import User
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.bookings import checkin, service
from server.bookings.models import Booking, DeskLive
from server.bookings.outcomes import mark_exported, outcomes
from server.bookings.presence import DeskMonitor, Seen
from server.bookings.reports import as_csv, utilization
from server.bookings.schemas import BookingCreate
from server.calendar.models import BookingPolicy
from server.db import Database
from server.exceptions import Refusal
from server.notify.mail import SmtpSender, deliver
from server.notify.models import MailMessage
from server.privacy.subject import attendance
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import Window
from server.registry.devices import assign, register
from server.registry.layout import import_layout
from server.registry.models import Downlink
from server.registry.schemas import Assignment, DeviceCreate
from server.registry.service import add_gateway
from server.spaces.loader import parse_layout
from server.spaces.service import desk_qr_key
from tests.server.office import OPERATOR

INSTALLER = Principal("t", "installer", "Test installer")

WITA = ZoneInfo("Asia/Makassar")
B = "kantor-e"
DAY = datetime(2026, 12, 2, tzinfo=WITA)


class Clock:
    def __init__(self) -> None:
        self.t = DAY + timedelta(hours=8)

    def __call__(self) -> float:
        return self.t.timestamp()

    def at(self, hh: int, mm: int = 0) -> datetime:
        self.t = DAY + timedelta(hours=hh, minutes=mm)
        return self.t


@pytest.fixture
def world(db: Database) -> tuple[DeskMonitor, Clock, Principal]:
    with db.session() as s:
        import_layout(s, parse_layout(one_floor(B, "l1", ["m1", "m2"])))
        s.add(office_hours(B, weekdays="0,1,2,3,4,5,6"))
        add_gateway(s, gateway_id="gw-e", building=B)
        row, _ = register(s, actor=INSTALLER, new=DeviceCreate(kind="desk", id="desk-m1"))
        assign(s, actor=INSTALLER, device_id=row.id, where=Assignment(building=B, desk="m1"))
        siti = UserCreate(username="siti", password="p" * 12, display_name="Siti")
        u = create_user(s, actor="t", new=siti)
    clock = Clock()
    monitor = DeskMonitor(db=db, clock=clock)
    return monitor, clock, Principal(u.username, u.role, u.display_name)


def book(db: Database, who: Principal, start: datetime, end: datetime, desk: str = "m1") -> int:
    with db.session() as s:
        new = BookingCreate(building=B, desk=desk, start=start, end=end)
        return service.create(s, actor=who, new=new, now=start - timedelta(hours=2)).created[0].id


def booking(db: Database, booking_id: int) -> Booking:
    with db.session() as s:
        row = s.get(Booking, booking_id)
        assert row is not None
        return row


def seen(monitor: DeskMonitor, clock: Clock, occupied: bool, desk: str = "m1") -> None:
    monitor.apply([Seen(B, desk, "desk-m1", occupied, int(clock() * 1000))])


def label(s: Session, desk: str) -> str | None:
    """What scanning the desk's QR label gives: its secret."""
    return desk_qr_key(s, B, desk)


def leds(db: Database) -> list[str]:
    with db.session() as s:
        rows = s.scalars(
            select(Downlink).where(Downlink.device_id == "desk-m1", Downlink.channel == "state")
        ).all()
        assert all(r.retain for r in rows)
        return [json.loads(r.payload)["state"] for r in rows]


def test_presence_in_the_window_checks_in_and_lights_the_desk(
    db: Database, world: tuple[DeskMonitor, Clock, Principal]
) -> None:
    monitor, clock, siti = world
    clock.at(8)
    b = book(db, siti, DAY + timedelta(hours=10), DAY + timedelta(hours=12))
    monitor.lights.refresh(B, "m1")
    clock.at(9, 40)  # too early: someone else at the desk is not siti checking in
    seen(monitor, clock, True)
    assert booking(db, b).state == "booked"
    seen(monitor, clock, False)
    clock.at(9, 50)
    monitor.sweep()
    seen(monitor, clock, True)
    row = booking(db, b)
    assert (row.state, row.checked_in_by) == ("checked_in", "sensor")
    # Only the newest unsent state waits for the gateway; the test's gateway sends nothing.
    assert leds(db) == ["occupied"]
    with db.session() as s:
        log = s.scalars(select(Booking)).all()
        assert len(log) == 1


def test_a_batch_of_readings_checks_in_once_and_sends_one_led_state(
    db: Database, world: tuple[DeskMonitor, Clock, Principal]
) -> None:
    """A gateway's batch may hold many readings of one desk: the booking is checked in by
    the first one in its window, and the desk's LED gets the state at the batch's end."""
    monitor, clock, siti = world
    clock.at(8)
    b = book(db, siti, DAY + timedelta(hours=10), DAY + timedelta(hours=12))
    clock.at(10, 1)
    t = int(clock() * 1000)
    batch = [Seen(B, "m1", "desk-m1", i % 3 != 0, t - 60_000 + i * 1000) for i in range(60)]
    batch += [Seen(B, "no-such-desk", "desk-x", True, t)]  # a desk the layout no longer has
    monitor.apply(batch)
    row = booking(db, b)
    assert (row.state, row.checked_in_by) == ("checked_in", "sensor")
    assert row.checked_in_ms == t - 59_000  # the first occupied reading in the window
    assert leds(db) == ["occupied"]
    with db.session() as s:
        live = s.get(DeskLive, row.desk_id)
        assert live is not None
        assert (live.occupied, live.updated_ms) == (True, t - 1000)  # the newest reading
    # The same occupancy again changes nothing, so nothing new is queued for the node.
    with db.session() as s:
        before = s.scalars(select(Downlink.id).where(Downlink.device_id == "desk-m1")).all()
    seen(monitor, clock, True)
    with db.session() as s:
        after = s.scalars(select(Downlink.id).where(Downlink.device_id == "desk-m1")).all()
    assert after == before


def test_nobody_came_so_the_desk_is_released(
    db: Database, world: tuple[DeskMonitor, Clock, Principal]
) -> None:
    monitor, clock, siti = world
    clock.at(8)
    b = book(db, siti, DAY + timedelta(hours=10), DAY + timedelta(hours=12))
    assert monitor.lights.state_now("m1") == "booked"
    clock.at(9, 50)
    assert monitor.lights.state_now("m1") == "awaiting_checkin"
    clock.at(10, 14)
    monitor.sweep()
    assert booking(db, b).state == "booked"
    clock.at(10, 16)
    monitor.sweep()
    row = booking(db, b)
    assert (row.state, row.outcome) == ("released", "no_show")
    assert row.release_reason == "nobody checked in within 15 min"
    assert monitor.lights.state_now("m1") == "free"


def test_a_vacated_desk_is_released_early_and_an_attended_one_completes(
    db: Database, world: tuple[DeskMonitor, Clock, Principal]
) -> None:
    monitor, clock, siti = world
    clock.at(8)
    early = book(db, siti, DAY + timedelta(hours=9), DAY + timedelta(hours=13))
    clock.at(9, 5)
    seen(monitor, clock, True)
    clock.at(10, 30)
    seen(monitor, clock, False)
    clock.at(11, 29)
    monitor.sweep()
    assert booking(db, early).state == "checked_in"
    clock.at(11, 31)
    monitor.sweep()
    row = booking(db, early)
    assert (row.state, row.outcome) == ("released", "released_early")
    later = book(db, siti, DAY + timedelta(hours=14), DAY + timedelta(hours=15), desk="m1")
    clock.at(14, 1)
    seen(monitor, clock, True)
    clock.at(15, 1)
    monitor.sweep()
    assert (booking(db, later).state, booking(db, later).outcome) == ("completed", "attended")


def test_a_walk_in_shows_occupied_and_checks_in_by_qr(
    db: Database, world: tuple[DeskMonitor, Clock, Principal]
) -> None:
    monitor, clock, siti = world
    clock.at(11)
    seen(monitor, clock, True)
    assert monitor.lights.state_now("m1") == "occupied"
    assert [d.state for d in monitor.lights.floor(B, "l1")] == ["occupied", "free"]
    with db.session() as s:
        walk = checkin.desk_check_in(
            s, actor=siti, building=B, desk="m1", key=label(s, "m1"), now=clock.t
        )
    assert (walk.state, walk.outcome) == ("checked_in", "walk_in")
    assert walk.end == DAY + timedelta(hours=19)
    clock.at(20)
    assert monitor.lights.state_now("m1") == "off"


def test_a_walk_in_in_an_always_open_building_lasts_no_longer_than_the_rules_allow(
    db: Database, world: tuple[DeskMonitor, Clock, Principal]
) -> None:
    monitor, clock, siti = world
    with db.session() as s:
        policy = s.scalars(select(BookingPolicy)).one()
        policy.open_minute, policy.close_minute = 0, 24 * 60
    clock.at(6)  # closing is 18 hours away, the longest booking 12
    with db.session() as s:
        walk = checkin.desk_check_in(
            s, actor=siti, building=B, desk="m1", key=label(s, "m1"), now=clock.t
        )
    assert (walk.state, walk.outcome) == ("checked_in", "walk_in")
    assert walk.end == DAY + timedelta(hours=18)


def test_utilization_report_counts_what_happened(
    db: Database, world: tuple[DeskMonitor, Clock, Principal], tmp_path: Path
) -> None:
    monitor, clock, siti = world
    clock.at(8)
    used = book(db, siti, DAY + timedelta(hours=9), DAY + timedelta(hours=12))
    book(db, siti, DAY + timedelta(hours=12), DAY + timedelta(hours=13), desk="m2")
    clock.at(9, 5)
    seen(monitor, clock, True)
    clock.at(11)
    with db.session() as s:
        checkin.check_out(s, actor=siti, booking_id=used, now=clock.t)
    clock.at(12, 16)
    monitor.sweep()  # the m2 booking: a no-show
    clock.at(13)
    with db.session() as s:
        checkin.desk_check_in(s, actor=siti, building=B, desk="m2", key=label(s, "m2"), now=clock.t)
    clock.at(19, 1)
    monitor.sweep()
    with db.session() as s:
        # Two people: the privacy minimum is 1 here (tests/server/privacy/test_subject.py has 5).
        by_desk = {
            r.group: r
            for r in utilization(
                s,
                building=B,
                start=DAY,
                end=DAY + timedelta(days=1),
                by="desk",
                min_group=1,
                actor=OPERATOR,
            )
        }
        (whole,) = utilization(
            s,
            building=B,
            start=DAY,
            end=DAY + timedelta(days=1),
            by="building",
            min_group=1,
            actor=OPERATOR,
        )
    m1, m2 = by_desk["m1"], by_desk["m2"]
    assert (m1.bookings, m1.booked_hours, m1.attended_hours, m1.no_shows) == (1, 3.0, 1.92, 0)
    assert (m2.bookings, m2.booked_hours, m2.attended_hours) == (2, 7.0, 6.0)
    assert (m2.no_shows, m2.no_show_rate, m2.walk_ins, m2.walk_in_rate) == (1, 0.5, 1, 0.5)
    assert (whole.desks, whole.open_desk_hours, whole.peak_occupied) == (2, 24.0, 1)
    assert whole.utilization == round((115 / 60 + 6) / 24, 4)
    assert whole.peak_at == DAY + timedelta(hours=9, minutes=5)
    lines = as_csv([whole]).splitlines()
    assert lines[0].startswith("group,desks,open_desk_hours,withheld,bookings,booked_hours")
    assert lines[1].startswith(f"{B},2,24.0,False,3,10.0,7.92,")
    # Each finished booking becomes a point of the "booking" stream in the reading store.
    points, ids = outcomes(monitor.db)
    assert sorted(str(p.fields["outcome"]) for p in points) == ["attended", "no_show", "walk_in"]
    assert {p.space.space for p in points if p.space} == {"m1", "m2"}
    store = SQLiteReadingStore(tmp_path / "readings.db")
    day = Window(
        int(DAY.timestamp() * 1000),
        int((DAY + timedelta(days=1)).timestamp() * 1000),
        timedelta(days=1),
    )

    async def write_and_sum() -> float:
        await store.write(points)
        total = await store.series(stream="booking", field="attended_h", agg="sum", window=day)
        await store.close()
        return total[0].value

    assert round(asyncio.run(write_and_sum()), 2) == round(115 / 60 + 6, 2)
    mark_exported(monitor.db, ids)
    assert outcomes(monitor.db) == ([], [])


def test_reminder_and_release_mail_reach_the_booker(
    db: Database, world: tuple[DeskMonitor, Clock, Principal], smtp: tuple[Inbox, int]
) -> None:
    monitor, clock, siti = world
    inbox, port = smtp
    db.mail = True
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "siti"))
        assert user is not None
        user.email = "siti.rahma@example.go.id"
    clock.at(8)
    book(db, siti, DAY + timedelta(hours=10), DAY + timedelta(hours=12))
    clock.at(10, 9)
    monitor.sweep()
    clock.at(10, 10)  # the reminder goes once, 5 minutes before the grace period ends
    monitor.sweep()
    monitor.sweep()
    clock.at(10, 16)
    monitor.sweep()
    # The SMTP server is away at first: nothing is lost, the error is kept.
    away = SmtpSender(host="127.0.0.1", port=free_port(), starttls=False, timeout_s=2)
    assert deliver(db, away, "smartoffice@example.go.id") == 0
    with db.session() as s:
        queued = s.scalars(select(MailMessage).order_by(MailMessage.id)).all()
        assert [m.attempts for m in queued] == [1, 0, 0]
        assert "ConnectionRefusedError" in (queued[0].last_error or "")
    sender = SmtpSender(host="127.0.0.1", port=port, starttls=False)
    assert deliver(db, sender, "smartoffice@example.go.id") == 3
    assert deliver(db, sender, "smartoffice@example.go.id") == 0
    subjects = [m["Subject"] for m in inbox.messages]
    assert subjects == [
        "Pemesanan meja m1 dikonfirmasi / Booking confirmed",
        "Segera check-in di meja m1 / Check in soon",
        "Pemesanan meja m1 dilepas / Booking released",
    ]
    assert all(m["To"] == "siti.rahma@example.go.id" for m in inbox.messages)
    body = inbox.messages[2].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "dilepas: tidak ada check-in" in body and "released: nobody checked in" in body


def test_a_qr_check_in_at_a_sensor_desk_counts_once_the_sensor_sees_someone(
    db: Database, world: tuple[DeskMonitor, Clock, Principal]
) -> None:
    monitor, clock, siti = world
    clock.at(8)
    first = book(db, siti, DAY + timedelta(hours=9), DAY + timedelta(hours=11))
    later = book(db, siti, DAY + timedelta(hours=13), DAY + timedelta(hours=15))
    clock.at(8, 55)
    with db.session() as s:
        with pytest.raises(Refusal) as refused:  # the page's address, typed away from the desk
            checkin.desk_check_in(s, actor=siti, building=B, desk="m1", key=None, now=clock.t)
        assert refused.value.rule == "qr_key"
        with pytest.raises(Refusal):
            checkin.desk_check_in(s, actor=siti, building=B, desk="m1", key="tebakan", now=clock.t)
        done = checkin.desk_check_in(
            s, actor=siti, building=B, desk="m1", key=label(s, "m1"), now=clock.t
        )
    assert (done.checked_in_by, done.presence) == ("qr", "pending")  # m1 has a sensor
    clock.at(9, 5)
    seen(monitor, clock, True)
    assert booking(db, first).presence == "sensor"
    clock.at(11)
    seen(monitor, clock, False)
    # The same booker checks in by the app from elsewhere: nobody sits down.
    clock.at(12, 50)
    with db.session() as s:
        away = checkin.check_in(s, actor=siti, booking_id=later, now=clock.t)
    assert (away.checked_in_by, away.presence) == ("app", "pending")
    clock.at(13, 16)  # the grace period (15 min) is over
    monitor.sweep()
    assert booking(db, later).presence == "unconfirmed"
    with db.session() as s:
        seen_days = attendance(s, username="siti", start=DAY.date(), end=DAY.date())
    assert (seen_days.attended, seen_days.unconfirmed, seen_days.days_in_office) == (1, 1, 1)
    assert [e.presence for e in seen_days.entries] == ["sensor", "unconfirmed"]


def test_a_qr_check_in_at_a_desk_without_a_sensor_is_shown_by_the_label(
    db: Database, world: tuple[DeskMonitor, Clock, Principal]
) -> None:
    _, clock, siti = world
    clock.at(8)
    booked = book(db, siti, DAY + timedelta(hours=9), DAY + timedelta(hours=11), desk="m2")
    clock.at(9)
    with db.session() as s:
        with pytest.raises(Refusal):
            checkin.check_in(s, actor=siti, booking_id=booked, key="bukan-kuncinya", now=clock.t)
        done = checkin.check_in(s, actor=siti, booking_id=booked, key=label(s, "m2"), now=clock.t)
    assert (done.checked_in_by, done.presence) == ("qr", "qr")


def test_a_room_booked_and_left_empty_is_released_as_a_ghost(db: Database) -> None:
    """Ruang r1's people counter reports and sees nobody in the first 15 minutes of a
    booking: released, saying why. In r1 later someone comes: kept. Room r2 has no counter:
    its booking is kept, unverified."""
    with db.session() as s:
        import_layout(s, parse_layout(one_floor(B, "l1", ["m1"], rooms=["r1", "r2"])))
        s.add(office_hours(B, weekdays="0,1,2,3,4,5,6"))
        who = [
            create_user(s, actor="t", new=UserCreate(username=n, password="p" * 12, display_name=n))
            for n in ("siti", "budi", "dewi")
        ]
    siti, budi, dewi = (Principal(u.username, u.role, u.display_name) for u in who)
    clock = Clock()
    monitor = DeskMonitor(db=db, clock=clock)

    def room(who: Principal, code: str, hh: int) -> int:
        with db.session() as s:
            new = BookingCreate(
                building=B, room=code, start=DAY.replace(hour=hh), end=DAY.replace(hour=hh + 1)
            )
            return service.create(s, actor=who, new=new, now=DAY).created[0].id

    empty, met, uncounted = room(siti, "r1", 9), room(budi, "r1", 11), room(dewi, "r2", 9)

    def counted(hh: int, mm: int, people: int) -> None:
        at = int(DAY.replace(hour=hh, minute=mm).timestamp() * 1000)
        monitor.count_rooms([(B, "r1", people, at)])

    for mm in (0, 5, 10):
        counted(9, mm, 0)
    clock.at(9, 10)
    monitor.settle(monitor.now_ms())
    assert booking(db, empty).state == "booked"  # within the grace
    counted(9, 16, 0)
    clock.at(9, 16)
    monitor.settle(monitor.now_ms())
    gone = booking(db, empty)
    assert (gone.state, gone.outcome) == ("released", "no_show")
    assert gone.release_reason == "the room's people counter saw nobody within 15 min"
    assert booking(db, uncounted).state == "booked"  # no counter: nothing to go by
    counted(11, 5, 3)
    counted(11, 16, 0)  # they stepped out; someone came since the start
    clock.at(11, 20)
    monitor.settle(monitor.now_ms())
    assert booking(db, met).state == "booked"
    clock.at(12, 1)
    monitor.settle(monitor.now_ms())
    assert (booking(db, met).state, booking(db, uncounted).state) == ("completed", "completed")
