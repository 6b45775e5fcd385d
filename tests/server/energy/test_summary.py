"""The energy summary on a constructed day whose kWh, desk-hours and shares are known.

Two floors, a meter per zone, one day (Wednesday 2 December 2026, WITA) of readings a
minute apart. Floor l1: HVAC 1 kW from 08:00 to 17:00 and 200 W otherwise, lighting 300 W
all day. Floor l2: the same HVAC, with a counter reset at 10:20 and the meter silent from
13:00 to 14:30. Desk a1 is occupied 09:00-12:00 and b1 10:00-11:00; a1 is booked
08:00-17:00 and b2 13:00-15:00 but released at 13:30. Working hours 07:00-19:00.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from contracts.registry import SpaceRef
from harness.calendar import office_hours
from server.auth.models import User
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.bookings.models import Booking
from server.db import Database
from server.energy.rollup import RollupConfig, Rollups
from server.energy.summary import Scope, as_csv, summarise
from server.readings.store import ReadingStore, StoredReading
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from server.spaces.models import Desk

pytestmark = pytest.mark.anyio

WITA = ZoneInfo("Asia/Makassar")
B = "gedung-e"
DAY = datetime(2026, 12, 2, tzinfo=WITA)
D0 = int(DAY.timestamp() * 1000)
H, MIN = 3_600_000, 60_000


def layout() -> dict[str, Any]:
    floors = []
    for level, (floor, desks) in enumerate((("l1", ["a1", "a2"]), ("l2", ["b1", "b2"]))):
        zone = f"{floor}-a"
        floors.append(
            {
                "id": floor,
                "name": floor,
                "level": level,
                "width": 20,
                "height": 10,
                "zones": [{"id": zone, "name": zone}],
                "desks": [{"id": d, "zone": zone, "x": i + 1, "y": 1} for i, d in enumerate(desks)],
            }
        )
    return {"building": {"id": B, "name": "Gedung E"}, "floors": floors}


def place(floor: str, space: str, kind: str) -> SpaceRef:
    return SpaceRef(building=B, floor=floor, zone=f"{floor}-a", space=space, space_kind=kind)  # type: ignore[arg-type]


def hvac(ts: int) -> float:
    return 1000.0 if 8 <= (ts - D0) // H < 17 else 200.0


def meter(
    device: str,
    floor: str,
    circuit: str,
    power: Callable[[int], float],
    *,
    reset_at: int | None = None,
    silent: tuple[int, int] | None = None,
) -> list[StoredReading]:
    out, counter = [], 52_000.0
    for i, ts in enumerate(range(D0, D0 + 24 * H + 1, MIN)):
        if reset_at is not None and ts == reset_at:
            counter = 0.0
        if silent is None or not silent[0] < ts < silent[1]:
            fields = {
                "power_w": power(ts),
                "energy_wh": float(int(counter)),
                "circuit": circuit,
                "boot": 1,
                "seq": i,
                "ts_gateway": 0,
            }
            out.append(
                StoredReading("energy", ts, device, place(floor, f"{floor}-a", "zone"), fields)
            )
        counter += power(ts) * MIN / H
    return out


def presence(device: str, floor: str, desk: str, here: tuple[int, int]) -> list[StoredReading]:
    out = []
    for i, ts in enumerate(range(D0 + 7 * H, D0 + 18 * H, 5 * MIN)):
        fields = {
            "occupied": int(here[0] <= ts < here[1]),
            "source": "pir",
            "boot": 1,
            "seq": i,
            "ts_gateway": 0,
        }
        out.append(StoredReading("presence", ts, device, place(floor, desk, "desk"), fields))
    return out


@pytest.fixture
async def day(db: Database, store: ReadingStore) -> Rollups:
    with db.session() as s:
        import_layout(s, parse_layout(layout()))
        s.add(office_hours(B))
        create_user(
            s, actor="t", new=UserCreate(username="siti", password="p" * 12, display_name="Siti")
        )
        user = s.scalars(select(User).where(User.username == "siti")).one()
        desks = {d.code: d.id for d in s.query(Desk)}
        for code, start, end, released in (("a1", 8, 17, None), ("b2", 13, 15, 13.5)):
            s.add(
                Booking(
                    building_id=B,
                    desk_id=desks[code],
                    space_code=code,
                    space_kind="desk",
                    user_id=user.id,
                    booked_by="siti",
                    start_ms=D0 + start * H,
                    end_ms=D0 + end * H,
                    created_ms=D0,
                    state="released" if released else "completed",
                    released_ms=int(D0 + released * H) if released else None,
                )
            )
    readings = meter("em-1", "l1", "hvac", hvac) + meter("em-1", "l1", "lighting", lambda _: 300.0)
    readings += meter(
        "em-2",
        "l2",
        "hvac",
        hvac,
        reset_at=D0 + 10 * H + 20 * MIN,
        silent=(D0 + 13 * H, D0 + 14 * H + 30 * MIN),
    )
    readings += presence("desk-a1", "l1", "a1", (D0 + 9 * H, D0 + 12 * H))
    readings += presence("desk-b1", "l2", "b1", (D0 + 10 * H, D0 + 11 * H))
    # em-1 carries two circuits with the same sequence numbers; keep each reading distinct.
    await store.write([r for r in readings if r.fields.get("circuit") != "lighting"])
    await store.write(
        [
            StoredReading(r.stream, r.ts_ms, "em-1l", r.space, r.fields)
            for r in readings
            if r.fields.get("circuit") == "lighting"
        ]
    )
    return Rollups(db, store, RollupConfig(), clock=lambda: (D0 + 25 * H) / 1000)


def scope(**kw: Any) -> Scope:
    return Scope(building=B, start=DAY, end=DAY + timedelta(days=1), **kw)


async def test_the_day_by_floor_live_then_from_rollups(day: Rollups) -> None:
    async def by_floor() -> dict[str, Any]:
        s = await summarise(scope=scope(by="floor"), db=day.db, rollups=day, now_ms=D0 + 25 * H)
        return {r.group: r for r in s.rows} | {"": s}

    live = await by_floor()
    assert await day.run() > 0  # rolls the whole day up (settled by 01:00 the next day)
    rolled = await by_floor()
    for got in (live, rolled):
        l1, l2, s = got["l1"], got["l2"], got[""]
        assert l1.circuits == pytest.approx({"hvac": 12.0, "lighting": 7.2}, abs=0.003)
        assert l2.circuits == pytest.approx({"hvac": 12.0}, abs=0.003)
        assert l2.estimated_kwh == pytest.approx(1 / 60, abs=0.001)  # the minute with the reset
        assert s.totals.kwh == pytest.approx(31.2, abs=0.005)
        # Outside 07:00-19:00: 12 h of 200 W twice and 12 h of 300 W.
        assert s.totals.out_of_hours_kwh == pytest.approx(8.4, abs=0.005)
        assert s.out_of_hours_share == pytest.approx(8.4 / 31.2, abs=0.001)
        assert (l1.occupied_desk_hours, l2.occupied_desk_hours) == (3.0, 1.0)
        assert (l1.booked_desk_hours, l2.booked_desk_hours) == (9.0, 0.5)
        assert l1.kwh_per_occupied_desk_hour == pytest.approx(19.2 / 3, abs=0.002)
        assert l1.kwh_per_booked_desk_hour == pytest.approx(19.2 / 9, abs=0.002)
        assert s.totals.kwh_per_occupied_desk_hour == pytest.approx(31.2 / 4, abs=0.002)
        assert l1.coverage == pytest.approx(1.0) and l1.meters == 2
    # Floors of fewer desks than the privacy minimum keep their energy, not their desk use.
    private = await summarise(
        scope=scope(by="floor"), db=day.db, rollups=day, now_ms=D0 + 25 * H, min_group=1000
    )
    assert [
        (r.group, r.desk_use_withheld, r.occupied_desk_hours, r.kwh_per_booked_desk_hour)
        for r in private.rows
    ] == [("l1", True, None, None), ("l2", True, None, None)]
    assert [r.kwh for r in private.rows] == [r.kwh for r in rolled[""].rows]
    assert private.totals.desk_use_withheld and private.totals.kwh_per_occupied_desk_hour is None


async def test_hours_circuits_and_csv(day: Rollups) -> None:
    await day.run()
    hourly = await summarise(scope=scope(every="1h"), db=day.db, rollups=day, now_ms=D0 + 25 * H)
    assert len(hourly.rows) == 24
    nine = next(r for r in hourly.rows if r.start.hour == 9)
    assert nine.kwh == pytest.approx(2.3, abs=0.003) and nine.out_of_hours_kwh == 0
    six = next(r for r in hourly.rows if r.start.hour == 6)
    assert six.out_of_hours_kwh == pytest.approx(six.kwh)
    circuits = await summarise(
        scope=scope(by="circuit"), db=day.db, rollups=day, now_ms=D0 + 25 * H
    )
    assert {r.group: r.kwh for r in circuits.rows} == pytest.approx(
        {"hvac": 24.0, "lighting": 7.2}, abs=0.005
    )
    zone = await summarise(scope=scope(zone="l2-a"), db=day.db, rollups=day, now_ms=D0 + 25 * H)
    assert zone.totals.kwh == pytest.approx(12.0, abs=0.003)
    csv_text = as_csv(
        await summarise(scope=scope(by="floor"), db=day.db, rollups=day, now_ms=D0 + 25 * H)
    )
    lines = csv_text.splitlines()
    assert lines[0].startswith("start,end,group,kwh,hvac_kwh,lighting_kwh,out_of_hours_kwh")
    assert len(lines) == 3
    group, kwh, hvac_kwh, lighting_kwh = lines[1].split(",")[2:6]
    assert group == "l1"
    assert [float(kwh), float(hvac_kwh), float(lighting_kwh)] == pytest.approx(
        [19.2, 12.0, 7.2], abs=0.003
    )


@pytest.mark.parametrize("every", ["1h", "1d"])
async def test_one_answer_per_question_whatever_the_grouping(day: Rollups, every: str) -> None:
    """The same building and period: kWh, desk-hours and kWh per desk-hour agree whether
    grouped by building, floor, zone or circuit (by circuit, each circuit's kWh is set
    against the desk-hours of the whole scope it serves)."""
    await day.run()
    got = {
        by: await summarise(
            scope=scope(by=by, every=every), db=day.db, rollups=day, now_ms=D0 + 25 * H
        )
        for by in ("building", "floor", "zone", "circuit")
    }
    answers = {
        by: (
            round(x.totals.kwh, 3),
            x.totals.occupied_desk_hours,
            x.totals.booked_desk_hours,
            x.totals.kwh_per_occupied_desk_hour,
            x.totals.kwh_per_booked_desk_hour,
        )
        for by, x in got.items()
    }
    assert len(set(answers.values())) == 1, answers
    assert answers["circuit"][1:3] == (4.0, 9.5)
    assert answers["circuit"][3] == pytest.approx(31.2 / 4, abs=0.002)
    # Each circuit's rows carry the scope's desk-hours of their hour or day.
    by_circuit = got["circuit"].rows
    lighting = sum(r.kwh for r in by_circuit if r.group == "lighting")
    desk_hours = sum(r.occupied_desk_hours for r in by_circuit if r.group == "lighting")
    assert desk_hours == pytest.approx(4.0)
    assert lighting == pytest.approx(7.2, abs=0.005)
    if every == "1d":
        (light,) = [r for r in by_circuit if r.group == "lighting"]
        assert light.kwh_per_occupied_desk_hour == pytest.approx(7.2 / 4, abs=0.002)


async def test_power_now_and_late_readings_redo_the_rollups(day: Rollups) -> None:
    noon = await summarise(scope=scope(), db=day.db, rollups=day, now_ms=D0 + 12 * H + 30_000)
    assert noon.power_now_w == 2300.0
    assert noon.power_now_circuits == {"hvac": 2000.0, "lighting": 300.0}
    await day.run()
    # A gateway delivers a third meter's day late; its hours were already rolled up.
    late = meter("em-3", "l1", "plugs", lambda _: 100.0)
    await day.store.write(late)
    day.mark_late(late)
    progress = day.progress(B)
    assert progress is not None and progress.dirty_from == D0
    before = await summarise(scope=scope(), db=day.db, rollups=day, now_ms=D0 + 25 * H)
    assert before.totals.circuits["plugs"] == pytest.approx(2.4, abs=0.003)  # read live
    await day.run()
    progress = day.progress(B)
    assert progress is not None and progress.dirty_from is None
    after = await summarise(scope=scope(), db=day.db, rollups=day, now_ms=D0 + 25 * H)
    assert after.totals.kwh == pytest.approx(31.2 + 2.4, abs=0.005)


async def test_at_most_two_days_are_computed_from_raw_readings(day: Rollups) -> None:
    """Older hours come from rollups only: a new installation's past needs a rebuild."""
    three_days = Scope(building=B, start=DAY, end=DAY + timedelta(days=3))
    later = D0 + 73 * H
    before = await summarise(scope=three_days, db=day.db, rollups=day, now_ms=later)
    assert before.totals.kwh == 0  # the day is older than 48 h and not rolled up
    await day.roll(B, since_ms=D0)
    after = await summarise(scope=three_days, db=day.db, rollups=day, now_ms=later)
    assert after.totals.kwh == pytest.approx(31.2, abs=0.005)
