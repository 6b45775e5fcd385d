"""The occupancy report (server/energy/occupancy.py) withholds groups of too few desks."""

from __future__ import annotations

import pytest

from server.db import Database
from server.energy.occupancy import OccupancyQuery, occupancy
from server.energy.rollup import Rollups
from server.readings.store import ReadingStore
from tests.server.sitting import DAY, B, H, at


@pytest.mark.anyio
async def test_the_occupancy_report_withholds_groups_of_too_few_desks(
    seated: Database, store: ReadingStore
) -> None:
    first = at(DAY, 8) // H * H
    rollups = Rollups(seated, store)
    rep = await occupancy(seated, rollups, OccupancyQuery(B, first, first + 8 * H, "zone", 0.7, 7))
    # za and zb have 6 desks each (under 7): withheld. Together they hold 12 desks, so the
    # building's total minus zc gives no small group away: zc's 7 are shown.
    assert rep.withheld == ["za", "zb"] and [g.group for g in rep.groups] == ["zc"]
    assert rep.min_group == 7
