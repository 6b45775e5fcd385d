"""The shared energy bill (server/energy/split.py) on a constructed day whose kWh are known,
on both reading stores: each key's parts add up to the building total (the energy summary's
total for the month) within 1 Wh, and the CSV says what the API says.

Menara S, Wednesday 2 December 2026 (WITA): floor l1 is agency A's (20 m × 10 m), l2 agency
B's (30 m × 10 m), l3 the building's shared floor (20 m × 10 m). A meter per floor reads a
minute apart all day: l1 1 kW, l2 600 W, l3 400 W (24, 14.4 and 9.6 kWh). Desks: a1 on l1
occupied 09:00-12:00, b1 on l2 10:00-11:00.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts.registry import SpaceRef
from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.auth.service import Principal
from server.db import Database
from server.energy.rollup import RollupConfig, Rollups
from server.energy.split import as_csv, hand_out, split
from server.energy.summary import Scope, summarise
from server.exceptions import ConflictError
from server.readings.store import ReadingStore, StoredReading
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.office import OPERATOR

pytestmark = pytest.mark.anyio

WITA = ZoneInfo("Asia/Makassar")
B = "menara-s"
DAY = datetime(2026, 12, 2, tzinfo=WITA)
D0 = int(DAY.timestamp() * 1000)
H, MIN = 3_600_000, 60_000
DECEMBER = date(2026, 12, 1)
FLOORS = (("l1", "kemenko-a", 20), ("l2", "kemenko-b", 30), ("l3", None, 20))
POWER = {"l1": 1000.0, "l2": 600.0, "l3": 400.0}


def layout() -> dict[str, Any]:
    floors = []
    for level, (floor, agency, width) in enumerate(FLOORS, start=1):
        zone = f"{floor}-z"
        floors.append(
            {
                "id": floor,
                "name": f"Lantai {level}",
                "level": level,
                "width": width,
                "height": 10,
                "agency": agency,
                "zones": [{"id": zone, "name": zone}],
                "desks": [{"id": f"{floor[1]}-d{i}", "zone": zone, "x": i, "y": 1} for i in (1, 2)],
            }
        )
    return {"building": {"id": B, "name": "Menara S"}, "floors": floors}


def place(floor: str, space: str, kind: str) -> SpaceRef:
    return SpaceRef(building=B, floor=floor, zone=f"{floor}-z", space=space, space_kind=kind)  # type: ignore[arg-type]


def meter(floor: str) -> list[StoredReading]:
    out, counter, watts = [], 10_000.0, POWER[floor]
    for i, ts in enumerate(range(D0, D0 + 24 * H + 1, MIN)):
        fields = {
            "power_w": watts,
            "energy_wh": round(counter, 3),
            "circuit": "hvac",
            "boot": 1,
            "seq": i,
            "ts_gateway": 0,
        }
        out.append(
            StoredReading("energy", ts, f"em-{floor}", place(floor, f"{floor}-z", "zone"), fields)
        )
        counter += watts * MIN / H
    return out


def presence(floor: str, desk: str, here: tuple[int, int]) -> list[StoredReading]:
    out = []
    for i, ts in enumerate(range(D0 + 7 * H, D0 + 18 * H, 5 * MIN)):
        fields = {"occupied": int(here[0] <= ts < here[1]), "source": "pir", "boot": 1, "seq": i}
        out.append(
            StoredReading(
                "presence",
                ts,
                f"desk-{desk}",
                place(floor, desk, "desk"),
                {**fields, "ts_gateway": 0},
            )
        )
    return out


@pytest.fixture
async def tower(db: Database, store: ReadingStore) -> Rollups:
    with db.session() as s:
        for code in ("kemenko-a", "kemenko-b"):
            agencies.create(s, actor="t", new=AgencyCreate(id=code, name=code.title()))
        import_layout(s, parse_layout(layout()))
    readings = [r for floor in POWER for r in meter(floor)]
    readings += presence("l1", "1-d1", (D0 + 9 * H, D0 + 12 * H))
    readings += presence("l2", "2-d1", (D0 + 10 * H, D0 + 11 * H))
    await store.write(readings)
    rollups = Rollups(db, store, RollupConfig(), clock=lambda: (D0 + 25 * H) / 1000)
    assert await rollups.run() > 0
    return rollups


async def test_each_key_shares_the_whole_month_and_adds_up_to_the_building_total(
    tower: Rollups,
) -> None:
    db = tower.db
    month = Scope(building=B, start=DAY.replace(day=1), end=datetime(2027, 1, 1, tzinfo=WITA))
    summary = await summarise(scope=month, db=db, rollups=tower, now_ms=D0 + 25 * H)
    assert summary.totals.kwh == pytest.approx(48.0, abs=0.01)
    got = {
        key: await split(db, tower, building=B, month=DECEMBER, key=key, actor=OPERATOR)
        for key in ("area", "desk_hours", "metered")
    }
    for key, report in got.items():
        assert report.total_kwh == pytest.approx(summary.totals.kwh, abs=0.001), key  # 1 Wh
        parts = round(sum(r.kwh for r in report.rows) * 1000)
        assert parts == round(report.total_kwh * 1000), key  # exactly, in Wh
        assert [r.agency for r in report.rows] == ["kemenko-a", "kemenko-b"]
    total = got["area"].total_kwh
    a, b = got["area"].rows
    assert (a.basis, b.basis) == (200.0, 300.0) and (a.floors, b.floors) == (["l1"], ["l2"])
    assert a.kwh == pytest.approx(total * 0.4, abs=0.001)
    a, b = got["desk_hours"].rows
    assert (a.basis, b.basis) == (3.0, 1.0)
    assert a.kwh == pytest.approx(total * 0.75, abs=0.001)
    # Metered: each floor's own meter, and the shared floor's 9.6 kWh by area (40 / 60).
    a, b = got["metered"].rows
    assert got["metered"].common_kwh == pytest.approx(9.6, abs=0.01)
    assert a.metered_kwh == pytest.approx(24.0, abs=0.01)
    assert a.kwh == pytest.approx(24.0 + 9.6 * 0.4, abs=0.01)
    assert b.kwh == pytest.approx(14.4 + 9.6 * 0.6, abs=0.01)
    # The CSV for the finance office says the same, and its total line is the building's.
    lines = list(csv.DictReader(io.StringIO(as_csv(got["metered"]))))
    assert [(r["agency"], float(r["kwh"])) for r in lines] == [
        ("kemenko-a", a.kwh),
        ("kemenko-b", b.kwh),
        ("*", got["metered"].total_kwh),
    ]


async def test_an_agencys_roles_read_their_own_part_and_a_month_without_use_says_so(
    tower: Rollups,
) -> None:
    db = tower.db
    theirs = Principal("rina", "agency_manager", "Rina", agency="kemenko-b")
    mine = await split(db, tower, building=B, month=DECEMBER, key="area", actor=theirs)
    assert [r.agency for r in mine.rows] == ["kemenko-b"] and mine.total_kwh > 0
    with pytest.raises(ConflictError, match="no desk of an agency was occupied"):
        await split(
            db, tower, building=B, month=date(2026, 11, 1), key="desk_hours", actor=OPERATOR
        )
    november = await split(
        db, tower, building=B, month=date(2026, 11, 1), key="area", actor=OPERATOR
    )
    assert november.total_kwh == 0 and [r.kwh for r in november.rows] == [0, 0]


def test_handing_out_whole_watt_hours_adds_up_exactly() -> None:
    rng = random.Random(7)
    for _ in range(500):
        weights = {f"a{i}": rng.random() * rng.choice((1, 1000)) for i in range(rng.randint(1, 6))}
        total = rng.randint(0, 10_000_000)
        given = hand_out(total, weights)
        assert sum(given.values()) == total
        whole = sum(weights.values())
        assert all(abs(given[k] - total * w / whole) < 1 for k, w in weights.items())
    assert hand_out(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    with pytest.raises(ValueError, match="no weight"):
        hand_out(5, {"a": 0.0})
