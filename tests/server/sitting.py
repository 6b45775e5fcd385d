"""Building kantor-p for the personal-data tests: 19 desks in three zones (6, 6, 7), and
people who sat at them (finished bookings, checked in by the sensor)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from contracts.registry import SpaceRef
from server.auth.models import User
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.bookings.models import Booking
from server.calendar.dates import to_ms
from server.db import Database
from server.readings.store import Rollup, StoredReading
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from server.spaces.service import find_desk_id

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
    return {
        "building": {"id": B, "name": "Kantor P"},
        "floors": [
            {
                "id": "l1",
                "name": "Lantai 1",
                "level": 1,
                "width": 40,
                "height": 10,
                "zones": [{"id": z, "name": z} for z in ZONES],
                "desks": desks,
            }
        ],
    }


def at(day: date, hh: int) -> int:
    return to_ms(datetime(day.year, day.month, day.day, hh, tzinfo=WITA))


def person(db: Database, name: str, *, share: bool = False) -> User:
    with db.session() as s:
        create_user(
            s,
            actor="t",
            new=UserCreate(
                username=name,
                password="p" * 12,
                role="employee",
                display_name=name,
                email=f"{name}@kantor.example.go.id",
            ),
        )
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
        row = Booking(
            building_id=B,
            desk_id=desk_id,
            space_code=desk,
            space_kind="desk",
            user_id=user.id,
            booked_by=user.username,
            start_ms=at(day, 9),
            end_ms=at(day, 12),
            state="completed",
            outcome=outcome,
            created_ms=at(day, 8),
            checked_in_ms=at(day, 9) + 600_000,
            checked_in_by="sensor",
            checked_out_ms=at(day, 12),
        )
        s.add(row)
        s.flush()
        return row.id


def presence(desk: str, ts: int, seq: int) -> StoredReading:
    """A presence reading of ``desk``."""
    ref = SpaceRef(building=B, floor="l1", zone=desk.split("-")[0], space=desk, space_kind="desk")
    return StoredReading(
        "presence",
        ts,
        f"dn-{desk}",
        ref,
        {"occupied": 1, "source": "pir", "boot": 1, "seq": seq, "ts_gateway": 0},
    )


def presence_hour(desk: str, hour: int) -> Rollup:
    """An hour's presence rollup of ``desk``."""
    tags = {
        "building": B,
        "floor": "l1",
        "zone": desk.split("-")[0],
        "space": desk,
        "space_kind": "desk",
    }
    return Rollup(
        "presence", hour, f"dn-{desk}", "", tags, {"occupied_s": 3000.0, "covered_s": 3600.0}
    )


def seat_building(db: Database) -> Database:
    """Import kantor-p into ``db``."""
    with db.session() as s:
        import_layout(s, parse_layout(layout()))
    return db
