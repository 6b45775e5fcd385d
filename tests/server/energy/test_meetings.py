"""How meeting rooms are used (server/energy/meetings.py), on both reading stores: people
counted against capacity and against the booking, ghost bookings, and rooms of another
agency's floor left out for an agency's roles.

Kantor D's Ruang Rapat Mahakam (r1, 8 seats) on Wednesday 2 December 2026: booked
09:00-10:00 and counted up to 5 people; 11:00-12:00 and counted nobody (a ghost);
13:00-14:00 and counted one person; 15:00-16:00 with the counter silent.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, update

from contracts.registry import SpaceRef
from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.auth.models import User
from server.auth.service import Principal
from server.bookings.models import Booking
from server.db import Database
from server.energy.meetings import as_csv, meetings
from server.readings.store import ReadingStore, StoredReading
from server.spaces.models import Floor
from tests.server.office import OPERATOR, WED, B, at

pytestmark = pytest.mark.anyio
ROOM = SpaceRef(building=B, floor="l1", zone="l1-a", space="r1", space_kind="room")
MIN = 60_000


async def test_rooms_counted_against_capacity_and_booking(
    db: Database, store: ReadingStore, people: dict[str, Principal]
) -> None:
    counted = {9: [0, 4, 5, 3], 11: [0, 0, 0, 0], 13: [1, 1, 0, 1]}
    with db.session() as s:
        siti = s.scalar(select(User.id).where(User.username == "siti"))
        for hour in (9, 11, 13, 15):
            s.add(
                Booking(
                    building_id=B,
                    desk_id=None,
                    space_code="r1",
                    space_kind="room",
                    user_id=siti,
                    booked_by="siti",
                    start_ms=int(at(WED, hour).timestamp() * 1000),
                    end_ms=int(at(WED, hour + 1).timestamp() * 1000),
                    created_ms=0,
                    state="completed",
                )
            )
    readings = []
    for hour, series in counted.items():
        first = int(at(WED, hour).timestamp() * 1000)
        for i, n in enumerate(series):
            fields = {"count": n, "boot": 1, "seq": hour * 10 + i, "ts_gateway": 0}
            readings.append(StoredReading("people", first + 15 * i * MIN, "room-r1", ROOM, fields))
    await store.write(readings)
    rep = await meetings(db, store, building=B, start=at(WED, 0), end=at(WED, 23), actor=OPERATOR)
    (r1,) = rep.rooms
    assert (r1.name, r1.capacity, r1.bookings, r1.booked_hours) == (
        "Ruang Rapat Mahakam",
        8,
        4,
        4.0,
    )
    assert (r1.measured, r1.ghosts, r1.ghost_rate) == (3, 1, 0.3333)
    assert (r1.solo, r1.solo_rate, r1.mean_peak) == (1, 0.5, 3.0)
    assert (r1.mean_fill, r1.max_fill) == (0.375, 0.625)
    assert "siti" not in rep.model_dump_json()  # counts, never who
    lines = list(csv.DictReader(io.StringIO(as_csv(rep))))
    assert [(x["room"], x["ghosts"], x["max_fill"]) for x in lines] == [("r1", "1", "0.625")]


async def test_an_agencys_roles_see_their_floors_rooms_and_the_shared_ones(
    db: Database, store: ReadingStore, people: dict[str, Principal]
) -> None:
    x = Principal("rina", "agency_manager", "Rina", agency="kemenko-x")
    y = Principal("yudi", "agency_admin", "Yudi", agency="kemenko-y")
    day = {"building": B, "start": at(WED, 0), "end": at(WED, 23)}
    rep = await meetings(db, store, actor=x, **day)
    assert [r.room for r in rep.rooms] == ["r1"]  # Kantor D's floor is the building's: shared
    assert (rep.rooms[0].bookings, rep.rooms[0].ghost_rate) == (0, None)
    with db.session() as s:  # the floor becomes kemenko-y's
        agencies.create(s, actor="t", new=AgencyCreate(id="kemenko-y", name="Kemenko Y"))
        s.execute(update(Floor).where(Floor.building_id == B).values(agency_id="kemenko-y"))
    assert (await meetings(db, store, actor=x, **day)).rooms == []
    assert [r.room for r in (await meetings(db, store, actor=y, **day)).rooms] == ["r1"]
