"""The occupancy report (server/energy/occupancy.py): groups of too few desks withheld, and
a shared tower split by agency."""

from __future__ import annotations

import pytest

from harness.layouts import one_floor
from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.db import Database
from server.energy.models import RollupState
from server.energy.occupancy import OccupancyQuery, occupancy
from server.energy.rollup import Rollups
from server.readings.store import ReadingStore, Rollup
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.office import OPERATOR
from tests.server.sitting import DAY, B, H, at


@pytest.mark.anyio
async def test_the_occupancy_report_withholds_groups_of_too_few_desks(
    seated: Database, store: ReadingStore
) -> None:
    first = at(DAY, 8) // H * H
    rollups = Rollups(seated, store)
    rep = await occupancy(
        seated, rollups, OccupancyQuery(B, first, first + 8 * H, "zone", 0.7, 7), OPERATOR
    )
    # za and zb have 6 desks each (under 7): withheld. Together they hold 12 desks, so the
    # building's total minus zc gives no small group away: zc's 7 are shown.
    assert rep.withheld == ["za", "zb"] and [g.group for g in rep.groups] == ["zc"]
    assert rep.min_group == 7


@pytest.mark.anyio
async def test_the_occupancy_report_splits_a_shared_tower_by_agency(
    db: Database, store: ReadingStore
) -> None:
    """The building operator's view: each agency's floors added up, the building's own floors
    as 'shared'; desks and hours, never people."""
    layout = one_floor("menara-6", "l3", [f"a{i}" for i in range(6)])
    layout["floors"][0]["agency"] = "kemenko-pmk"
    for code, agency in (("l4", "kemenko-pmk"), ("l5", None)):
        floor = one_floor("menara-6", code, [f"{code}-{i}" for i in range(5)])["floors"][0]
        layout["floors"].append({**floor, "agency": agency} if agency else floor)
    with db.session() as s:
        agencies.create(s, actor="t", new=AgencyCreate(id="kemenko-pmk", name="PMK"))
        import_layout(s, parse_layout(layout))
        s.add(RollupState(building_id="menara-6", done_until_ms=at(DAY, 23), updated_ms=0))
    hour = at(DAY, 9) // H * H

    def sat(desk: str, floor: str, zone: str) -> Rollup:
        tags = {
            "building": "menara-6",
            "floor": floor,
            "zone": zone,
            "space": desk,
            "space_kind": "desk",
        }
        return Rollup(
            "presence", hour, f"dn-{desk}", "", tags, {"occupied_s": 3600.0, "covered_s": 3600.0}
        )

    await store.write_rollups(
        [
            sat("a0", "l3", "l3-a"),
            sat("a1", "l3", "l3-a"),
            sat("l4-0", "l4", "l4-a"),
            sat("l5-0", "l5", "l5-a"),
        ]
    )
    rep = await occupancy(
        db,
        Rollups(db, store),
        OccupancyQuery("menara-6", hour, hour + H, "agency", 0.7, 1),
        OPERATOR,
    )
    groups = {g.group: g for g in rep.groups}
    assert {g: v.desks for g, v in groups.items()} == {"kemenko-pmk": 11, "shared": 5}
    assert groups["kemenko-pmk"].peak_occupied == 3.0  # two on l3 and one on l4, together
    assert groups["shared"].peak_occupied == 1.0
