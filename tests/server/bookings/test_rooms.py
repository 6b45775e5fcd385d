"""Meeting rooms for a slot (server/bookings/rooms.py): by how many they seat, whose they
are, closed when the building is, and why, in the person's language."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from server.auth.service import Principal
from server.bookings.rooms import rooms
from server.db import Database
from server.exceptions import NotFoundError
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.office import NOW, OFFICE, WED, B, at, book, refused


def _more_rooms(db: Database) -> None:
    """The office with three rooms: 4, 8 and 20 seats, the largest not bookable."""
    floor = {
        **OFFICE["floors"][0],
        "rooms": [
            {
                "id": "r1",
                "name": "Ruang Rapat Mahakam",
                "zone": "l1-a",
                "capacity": 8,
                "x": 30,
                "y": 1,
            },
            {"id": "r2", "name": "Ruang Diskusi", "zone": "l1-a", "capacity": 4, "x": 30, "y": 5},
            {
                "id": "r3",
                "name": "Aula",
                "zone": "l1-a",
                "capacity": 20,
                "x": 20,
                "y": 5,
                "bookable": False,
            },
        ],
    }
    with db.session() as s:
        import_layout(s, parse_layout({**OFFICE, "floors": [floor]}))


def _seen(db: Database, who: Principal, start: datetime, end: datetime, **kw: object) -> dict:
    with db.session(commit=False) as s:
        found = rooms(s, actor=who, building=B, start=start, end=end, now=NOW, **kw)  # type: ignore[arg-type]
    return {r.id: (r.capacity, r.state, r.reason) for r in found}


def test_rooms_seating_enough_smallest_first_with_whose_they_are(
    db: Database, people: dict[str, Principal]
) -> None:
    _more_rooms(db)
    siti, budi = people["siti"], people["budi"]
    assert list(_seen(db, siti, at(WED, 10), at(WED, 11))) == ["r2", "r1", "r3"]
    assert list(_seen(db, siti, at(WED, 10), at(WED, 11), capacity=6)) == ["r1", "r3"]
    assert _seen(db, siti, at(WED, 10), at(WED, 11), capacity=21) == {}

    book(db, siti, room="r1", start=at(WED, 10), end=at(WED, 11))
    assert _seen(db, siti, at(WED, 10, 30), at(WED, 12)) == {
        "r2": (4, "free", None),
        "r1": (8, "yours", None),
        "r3": (20, "not_bookable", "not bookable"),
    }
    seen = _seen(db, budi, at(WED, 10, 30), at(WED, 12), lang="id")
    assert seen["r1"] == (8, "booked", "dipesan rekan")  # never by whom
    assert _seen(db, budi, at(WED, 11), at(WED, 12))["r1"][1] == "free"  # back to back
    taken = refused(db, budi, room="r1", start=at(WED, 10, 30), end=at(WED, 11, 30))
    assert taken.rule == "conflict"
    assert refused(db, budi, room="r3", start=at(WED, 13), end=at(WED, 14)).rule == "not_bookable"


def test_rooms_are_closed_when_the_building_is_and_say_why(
    db: Database, people: dict[str, Principal]
) -> None:
    siti = people["siti"]
    xmas = date(2026, 12, 25)
    with db.session(commit=False) as s:
        found = rooms(
            s,
            actor=siti,
            building=B,
            start=at(xmas, 9),
            end=at(xmas, 10),
            now=datetime(2026, 12, 20, 8, tzinfo=NOW.tzinfo),
        )
    assert [(r.id, r.state, r.reason) for r in found] == [
        ("r1", "closed", "2026-12-25 is closed: Hari Raya Natal")
    ]
    early = _seen(db, siti, at(WED, 5), at(WED, 6))
    assert early["r1"][1] == "closed" and "07:00-19:00" in str(early["r1"][2])


def test_rooms_of_a_building_that_is_not_there_are_not_found(
    db: Database, people: dict[str, Principal]
) -> None:
    with db.session(commit=False) as s, pytest.raises(NotFoundError, match="no building 'nope'"):
        rooms(s, actor=people["siti"], building="nope", start=at(WED, 9), end=at(WED, 10))
