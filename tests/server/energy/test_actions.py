"""Zone HVAC and lighting decisions, zone commands, comfort alerts and the comfort report."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from contracts.payloads import ZoneCommand
from contracts.registry import SpaceRef
from harness.calendar import office_hours
from harness.layouts import one_floor
from server.auth.models import User
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.bookings.models import Booking, DeskLive
from server.db import Database
from server.effects import Effects
from server.energy.accounting import Bands
from server.energy.actions import ActionConfig, Decision, ZoneActions, zone_facts
from server.energy.comfort import AlertConfig, report, update_alerts
from server.energy.models import ComfortAlert, ZoneAction
from server.energy.rollup import HourlyView, RollupConfig, Rollups
from server.energy.runner import EnergyRunner
from server.readings.store import RawPoint, ReadingStore, SpaceFilter, StoredReading
from server.registry.layout import import_layout
from server.registry.models import Downlink
from server.registry.service import add_gateway
from server.spaces.loader import parse_layout
from server.spaces.models import Desk, Room

WITA = ZoneInfo("Asia/Makassar")
B = "kantor-a"
DAY = datetime(2026, 12, 2, tzinfo=WITA)  # a Wednesday
MIN = 60_000


def at(hh: int, mm: int = 0, day: datetime = DAY) -> int:
    return int((day + timedelta(hours=hh, minutes=mm)).timestamp() * 1000)


class Clock:
    def __init__(self) -> None:
        self.ms = at(6)

    def __call__(self) -> float:
        return self.ms / 1000


@pytest.fixture
def office(db: Database) -> Database:
    with db.session() as s:
        import_layout(s, parse_layout(one_floor(B, "l1", ["m1", "m2"], rooms=["r1"])))
        s.add(office_hours(B))
        add_gateway(s, gateway_id="gw-a", building=B)
        create_user(
            s, actor="t", new=UserCreate(username="siti", password="p" * 12, display_name="Siti")
        )
    return db


def book(db: Database, desk: str, start: int, end: int, **kw: Any) -> int:
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == "siti")).one()
        d = s.scalars(select(Desk).where(Desk.code == desk)).one()
        b = Booking(
            building_id=B,
            desk_id=d.id,
            space_code=desk,
            space_kind="desk",
            user_id=user.id,
            booked_by="siti",
            start_ms=start,
            end_ms=end,
            created_ms=start,
            **kw,
        )
        s.add(b)
        s.flush()
        return b.id


def sensor(db: Database, desk: str, occupied: bool, since: int) -> None:
    with db.session() as s:
        d = s.scalars(select(Desk).where(Desk.code == desk)).one()
        live = s.get(DeskLive, d.id) or DeskLive(desk_id=d.id)
        live.occupied, live.since_ms, live.updated_ms = occupied, since, since
        s.add(live)


def run(db: Database, za: ZoneActions, rooms: set[str] | None = None) -> dict[str, Decision]:
    with db.session() as s:
        facts = zone_facts(s, B, za.now_ms(), rooms or set())
        done = za.evaluate(s, B, facts)
    return {d.channel: d for d in done.decisions}


def test_a_day_of_one_zone(office: Database) -> None:
    clock = Clock()
    za = ZoneActions(ActionConfig(), clock=clock)
    d = run(office, za)
    assert (d["hvac"].mode, d["hvac"].reason_code) == ("off", "closed")
    assert "Outside working hours (07:00-19:00)" in d["hvac"].reason
    assert d["hvac"].next_mode is None
    booking = book(office, "m1", at(8), at(17))
    d = run(office, za)
    assert (d["hvac"].mode, d["hvac"].next_mode, d["hvac"].next_at) == ("off", "normal", at(7, 30))
    assert d["lighting"].next_at == at(7, 55)
    clock.ms = at(7, 35)  # pre-conditioning for the 08:00 arrival; lights not yet
    d = run(office, za)
    assert (d["hvac"].mode, d["hvac"].reason_code) == ("normal", "preconditioning")
    assert "08:00" in d["hvac"].reason
    assert (d["lighting"].mode, d["lighting"].reason_code) == ("off", "vacant")
    clock.ms = at(8, 2)  # booked, not arrived: HVAC on, lights dimmed
    d = run(office, za)
    assert (d["hvac"].mode, d["hvac"].reason_code) == ("normal", "booked")
    assert (d["lighting"].mode, d["lighting"].reason_code) == ("setback", "booked")
    clock.ms = at(8, 10)
    sensor(office, "m1", True, at(8, 9))
    d = run(office, za)
    assert {c: (x.mode, x.reason_code) for c, x in d.items()} == {
        "hvac": ("normal", "occupied"),
        "lighting": ("normal", "occupied"),
    }
    clock.ms = at(9, 22)
    sensor(office, "m1", False, at(9, 20))
    with office.session() as s:
        s.get(Booking, booking).state = "released"  # type: ignore[union-attr]
    d = run(office, za)
    assert (d["hvac"].mode, d["hvac"].reason_code) == ("normal", "vacancy_grace")
    clock.ms = at(9, 30)  # empty for 10 minutes: occupied-standby (ASHRAE Guideline 36)
    d = run(office, za)
    assert (d["hvac"].mode, d["hvac"].reason_code) == ("normal", "standby")
    assert d["lighting"].reason_code == "vacancy_grace"
    clock.ms = at(9, 40)  # empty for 20 minutes, nothing booked: set back, lights off
    d = run(office, za)
    assert (d["hvac"].mode, d["hvac"].reason_code) == ("setback", "vacant")
    assert d["lighting"].mode == "off"
    assert "no booking today" in d["hvac"].reason
    clock.ms = at(10, 0, DAY + timedelta(days=3))  # Saturday
    d = run(office, za)
    assert (d["hvac"].mode, d["hvac"].reason) == (
        "off",
        "Tutup: weekend / akhir pekan / Closed: weekend / akhir pekan",
    )
    with office.session() as s:
        rows = s.scalars(
            select(ZoneAction).where(ZoneAction.channel == "hvac").order_by(ZoneAction.id)
        ).all()
        modes = [(r.mode, r.reason_code) for r in rows]
        assert modes == [
            ("off", "closed"),
            ("normal", "preconditioning"),
            ("normal", "booked"),
            ("normal", "occupied"),
            ("normal", "vacancy_grace"),
            ("normal", "standby"),
            ("setback", "vacant"),
            ("off", "closed"),
        ]
        assert [r.end_ms is None for r in rows] == [False] * 7 + [True]
        assert not any(r.published for r in rows)  # advise: nothing sent
        assert s.scalars(select(Downlink)).all() == []


def test_a_room_counting_people_keeps_its_zone_on(office: Database) -> None:
    clock = Clock()
    clock.ms = at(11)
    za = ZoneActions(ActionConfig(), clock=clock)
    assert run(office, za)["hvac"].mode == "setback"
    assert run(office, za, rooms={"r1"})["hvac"].reason_code == "occupied"


def test_commands_are_queued_refreshed_and_replaced(office: Database) -> None:
    clock = Clock()
    clock.ms = at(11)
    za = ZoneActions(ActionConfig(mode="command", valid_minutes=10), clock=clock)
    run(office, za)

    def queued() -> list[tuple[str | None, str, dict[str, Any], int | None]]:
        with office.session() as s:
            return [
                (r.zone, r.channel, json.loads(r.payload), r.sent_ms)
                for r in s.scalars(select(Downlink).order_by(Downlink.id))
            ]

    first = queued()
    assert [(z, c) for z, c, _, _ in first] == [("l1-a", "hvac"), ("l1-a", "lighting")]
    hvac = ZoneCommand.model_validate(first[0][2])
    assert (hvac.mode, hvac.setpoint_c, hvac.valid_until) == ("setback", 27.0, at(11, 10))
    assert ZoneCommand.model_validate(first[1][2]).level_pct == 0
    clock.ms = at(11, 2)
    run(office, za)
    assert queued() == first  # nothing changed, not yet half its validity
    clock.ms = at(11, 6)
    run(office, za)
    refreshed = queued()
    assert len(refreshed) == 2 and refreshed != first  # the unsent ones replaced
    assert ZoneCommand.model_validate(refreshed[0][2]).since == at(11)  # the mode's start
    with office.session() as s:
        for row in s.scalars(select(Downlink)):
            row.sent_ms = at(11, 7)
    sensor(office, "m2", True, at(11, 7))
    clock.ms = at(11, 8)
    run(office, za)
    sent, pending = [q for q in queued() if q[3]], [q for q in queued() if not q[3]]
    assert len(sent) == 2 and [ZoneCommand.model_validate(p).mode for *_, p, _ in pending] == [
        "normal",
        "normal",
    ]


def room_points(values: list[tuple[int, float]]) -> list[RawPoint]:
    tags = {"building": B, "floor": "l1", "zone": "l1-a", "space": "r1", "space_kind": "room"}
    return [RawPoint(ts, "room-1", tags, {"co2_ppm": v}) for ts, v in values]


def test_co2_alerts_open_rise_and_close_only_while_occupied(office: Database) -> None:
    cfg = AlertConfig(level_ppm=1000, top_ppm=1500, minutes=15)

    def check(now: int, pts: list[RawPoint], occupied: bool = True) -> list[dict[str, Any]]:
        with office.session() as s:
            return update_alerts(
                s, building=B, points=pts, occupied=lambda _: occupied, now=now, cfg=cfg
            )

    stale = room_points([(at(10) + i * MIN, 1100.0 + i) for i in range(20)])
    assert check(at(10, 19), stale, occupied=False) == []
    assert check(at(10, 10), stale[:11]) == []  # only 10 minutes so far
    events = check(at(10, 19), stale)
    assert [(e["state"], e["level"], e["value"]) for e in events] == [("open", 1000.0, 1119.0)]
    assert check(at(10, 20), stale) == []  # still open, nothing new
    worse = stale + room_points([(at(10, 20) + i * MIN, 1600.0) for i in range(17)])
    assert [e["state"] for e in check(at(10, 36), worse)] == ["raised"]
    better = worse + room_points([(at(10, 37), 1460.0)])
    assert check(at(10, 37), better) == []  # 1460 is not below 1500 - 50 ppm
    fresh = better + room_points([(at(10, 38), 900.0)])
    assert [e["state"] for e in check(at(10, 38), fresh)] == ["closed"]
    with office.session() as s:
        alert = s.scalars(select(ComfortAlert)).one()
        assert (alert.level, alert.peak, alert.ended_ms) == (1500.0, 1600.0, at(10, 38))
        assert alert.started_ms == at(10, 4)


@pytest.mark.anyio
async def test_comfort_report_per_room(office: Database, store: ReadingStore) -> None:
    room = SpaceRef(building=B, floor="l1", zone="l1-a", space="r1", space_kind="room")
    readings = [
        StoredReading(
            "env",
            at(9) + i * MIN,
            "room-1",
            room,
            {
                "co2_ppm": 1200.0 if i < 60 else 700.0,
                "temp_c": 28.0 if i < 30 else 25.0,
                "rh_pct": 65.0 if i >= 90 else 50.0,
                "boot": 1,
                "seq": i,
                "ts_gateway": 0,
            },
        )
        for i in range(120)
    ]
    await store.write(readings)
    rollups = Rollups(office, store, RollupConfig(), clock=lambda: at(12) / 1000)
    for roll in (False, True):
        if roll:
            await rollups.run()
        view = await HourlyView.open(rollups, B, at(0), at(24))
        rep = await report(view, where=SpaceFilter(building=B), by="room", bands=Bands(), tz=WITA)
        (row,) = rep.rows
        assert (row.group, row.zone) == ("r1", "l1-a")
        assert row.hours_measured == pytest.approx(2.0 + 14 / 60, abs=0.001)  # the last holds
        assert row.hours_at_or_above == {"800": 1.0, "1000": 1.0, "1500": 0.0}
        assert row.hours_too_warm == 0.5 and row.hours_too_cold == 0.0
        assert row.hours_too_humid == pytest.approx(0.5 + 14 / 60, abs=0.001)
        assert row.co2_max == 1200 and row.co2_mean == 950.0
    with office.session() as s:
        assert s.scalars(select(Room)).one().code == "r1"


@pytest.mark.anyio
async def test_the_runner_decides_sends_and_alerts(office: Database, store: ReadingStore) -> None:
    """One evaluation: a people counter fills the room, its air is stale, commands go out."""
    now = at(11)
    room = SpaceRef(building=B, floor="l1", zone="l1-a", space="r1", space_kind="room")
    await store.write(
        [
            StoredReading(
                "env",
                now - m * MIN,
                "room-1",
                room,
                {
                    "co2_ppm": 1250.0,
                    "temp_c": 25.0,
                    "rh_pct": 50.0,
                    "boot": 1,
                    "seq": m,
                    "ts_gateway": 0,
                },
            )
            for m in range(20)
        ]
        + [
            StoredReading(
                "people",
                now - 2 * MIN,
                "room-1",
                room,
                {"count": 4, "boot": 1, "seq": 100, "ts_gateway": 0},
            )
        ]
    )
    woken: list[str] = []
    events: list[dict[str, Any]] = []
    office.effects = Effects(wake=woken.append, announce=events.extend)
    runner = EnergyRunner(
        db=office,
        store=store,
        actions=ZoneActions(ActionConfig(mode="command"), clock=lambda: now / 1000),
        alerts=AlertConfig(),
    )
    await runner.tick()
    assert woken == ["gw-a"]
    alerts = [e for e in events if e["type"] == "comfort_alert"]
    assert [(e["state"], e["space"], e["value"]) for e in alerts] == [("open", "r1", 1250.0)]
    zones = [(e["zone"], e["channel"], e["mode"]) for e in events if e["type"] == "zone"]
    assert sorted(zones) == [("l1-a", "hvac", "normal"), ("l1-a", "lighting", "normal")]
    events.clear()
    await runner.tick()  # nothing changed: no events, nothing sent
    assert events == [] and woken == ["gw-a"]
    with office.session() as s:
        modes = {(a.channel, a.mode, a.reason_code) for a in s.scalars(select(ZoneAction))}
        assert modes == {("hvac", "normal", "occupied"), ("lighting", "normal", "occupied")}
        assert len(s.scalars(select(Downlink)).all()) == 2


def test_the_setpoints_sent_for_each_mode_follow_the_settings_and_guideline_36() -> None:
    from server.energy.actions import Decision, setpoint_of

    cfg = ActionConfig(normal_setpoint_c=24.0, setback_setpoint_c=27.0, standby_offset_k=0.5)

    def point(mode: str, code: str) -> float | None:
        d = Decision(B, "l1", "l1-a", "hvac", mode, code, "", None, None)  # type: ignore[arg-type]
        return setpoint_of(cfg, d)

    assert point("normal", "occupied") == 24.0
    assert point("normal", "standby") == 24.5  # occupied-standby: +0.5 K
    assert point("setback", "vacant") == 27.0
    assert point("off", "closed") is None
