"""A small office for the booking tests: building kantor-d, four desks and a room, a
Tuesday morning to book from, and helpers that book, refuse and list as a person."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.auth.service import Principal
from server.bookings import service
from server.bookings.availability import availability
from server.bookings.schemas import BookingCreate, DeskAvailability
from server.db import Database
from server.exceptions import Refusal

WITA = ZoneInfo("Asia/Makassar")
B = "kantor-d"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=WITA)  # a Tuesday morning
WED = date(2026, 12, 2)
OFFICE = {
    "building": {"id": B, "name": "Kantor D"},
    "floors": [
        {
            "id": "l1",
            "name": "Lantai 1",
            "level": 1,
            "width": 40,
            "height": 10,
            "zones": [
                {"id": "l1-a", "name": "Zona A"},
                {
                    "id": "l1-tim",
                    "name": "Area Pusdatin",
                    "kind": "neighbourhood",
                    "team": "Pusdatin",
                },
            ],
            "desks": [
                {"id": "m1", "zone": "l1-a", "x": 1, "y": 1, "monitor": True},
                {"id": "m2", "zone": "l1-a", "x": 2, "y": 1},
                {"id": "m3", "zone": "l1-a", "x": 3, "y": 1, "neighbourhood": "l1-tim"},
                {"id": "m4", "zone": "l1-a", "x": 4, "y": 1, "bookable": False},
            ],
            "rooms": [
                {
                    "id": "r1",
                    "name": "Ruang Rapat Mahakam",
                    "zone": "l1-a",
                    "capacity": 8,
                    "x": 30,
                    "y": 1,
                }
            ],
        }
    ],
}


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=WITA)


def book(db: Database, who: Principal, now: datetime = NOW, **kw: Any) -> Any:
    with db.session() as s:
        return service.create(s, actor=who, new=BookingCreate(building=B, **kw), now=now)


def refused(db: Database, who: Principal, now: datetime = NOW, **kw: Any) -> Refusal:
    with pytest.raises(Refusal) as err:
        book(db, who, now=now, **kw)
    return err.value


def free(
    db: Database, who: Principal, start: datetime, end: datetime, now: datetime = NOW
) -> list[DeskAvailability]:
    with db.session() as s:
        return availability(s, actor=who, building=B, floor="l1", start=start, end=end, now=now)


OPERATOR = Principal("operator", "facility_manager", "Operator")
"""The building's operator: reaches every agency's floors (reports, occupancy)."""
