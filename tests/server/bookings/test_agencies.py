"""Whose desks (server/bookings/agencies.py), on SQLite and PostgreSQL: an agency's floor
seats its own people; it opens to another agency's for chosen days and takes a day back
while none of them has booked it; availability says the same as booking."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from harness.layouts import one_floor
from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.bookings import agencies as whose
from server.bookings import service
from server.bookings.availability import availability
from server.bookings.schemas import BookingCreate
from server.db import Database
from server.exceptions import ConflictError, Forbidden, Refusal
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.office import WITA

B = "menara-3"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=WITA)  # a Tuesday morning
THU, FRI = date(2026, 12, 3), date(2026, 12, 4)


def at(day: date, hh: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, tzinfo=WITA)


@pytest.fixture
def tower(db: Database) -> dict[str, Principal]:
    """A tower of two agencies: PMK's floor l3, Pangan's floor l4, the building's floor l5."""
    layout = one_floor(B, "l3", ["a1", "a2"])
    layout["floors"][0]["agency"] = "kemenko-pmk"
    for code, agency in (("l4", "kemenko-pangan"), ("l5", None)):
        floor = one_floor(B, code, [f"{code}-1"])["floors"][0]
        layout["floors"].append({**floor, "agency": agency} if agency else floor)
    people = {}
    with db.session() as s:
        for code in ("kemenko-pmk", "kemenko-pangan"):
            agencies.create(s, actor="root", new=AgencyCreate(id=code, name=code.upper()))
        import_layout(s, parse_layout(layout))
        for name, agency, role in (
            ("ani", "kemenko-pmk", "employee"),
            ("bayu", "kemenko-pangan", "employee"),
            ("root", None, "admin"),
        ):
            new = UserCreate(
                username=name, password="p" * 12, display_name=name, role=role, agency=agency
            )
            u = create_user(s, actor="t", new=new)
            people[name] = Principal(u.username, u.role, u.display_name, agency=agency)
    return people


def book(db: Database, who: Principal, desk: str, day: date) -> object:
    with db.session() as s:
        new = BookingCreate(building=B, desk=desk, start=at(day, 9), end=at(day, 12))
        return service.create(s, actor=who, new=new, now=NOW)


def state(db: Database, who: Principal, floor: str, desk: str, day: date) -> tuple[str, str | None]:
    with db.session(commit=False) as s:
        found = availability(
            s, actor=who, building=B, floor=floor, start=at(day, 9), end=at(day, 12), now=NOW
        )
    d = next(x for x in found if x.id == desk)
    return d.state, d.reason


def test_an_agencys_floor_seats_its_own_people_and_the_buildings_floor_everyone(
    db: Database, tower: dict[str, Principal]
) -> None:
    ani, bayu = tower["ani"], tower["bayu"]
    assert book(db, ani, "a1", THU)
    with pytest.raises(Refusal) as refused:
        book(db, bayu, "a2", THU)
    assert refused.value.rule == "agency_floor"
    assert str(refused.value) == "desk a2 is for the people of KEMENKO-PMK on 2026-12-03"
    assert state(db, bayu, "l3", "a2", THU) == ("not_bookable", "for the people of KEMENKO-PMK")
    assert state(db, ani, "l3", "a2", THU) == ("free", None)
    assert book(db, bayu, "l5-1", THU)  # the building's floor: anyone
    with pytest.raises(Refusal, match="for the people of KEMENKO-PANGAN"):
        book(db, ani, "l4-1", FRI)
    # The platform's own staff belong to no agency: an agency's floor is not theirs either.
    with pytest.raises(Refusal, match="agency|people of"):
        book(db, tower["root"], "a2", FRI)


def test_an_agency_opens_its_floor_for_thursday_and_takes_back_friday(
    db: Database, tower: dict[str, Principal]
) -> None:
    bayu = tower["bayu"]
    with db.session() as s, pytest.raises(Forbidden, match="only an administrator may lend"):
        whose.open_floor(
            s,
            actor=tower["ani"],
            building=B,
            floor="l3",
            agency="kemenko-pangan",
            days=[THU],
        )
    with db.session() as s:
        made = whose.open_floor(
            s,
            actor=tower["root"],
            building=B,
            floor="l3",
            agency="kemenko-pangan",
            days=[THU, FRI],
        )
        assert [(o.agency, o.day) for o in made] == [
            ("kemenko-pangan", THU),
            ("kemenko-pangan", FRI),
        ]
    assert state(db, bayu, "l3", "a2", THU) == ("free", None)
    assert book(db, bayu, "a2", THU)
    # Thursday is booked by one of them: it stays open. Friday is not: it is taken back.
    with db.session() as s, pytest.raises(ConflictError, match="1 people of kemenko-pangan"):
        whose.close_floor(
            s, actor=tower["root"], building=B, floor="l3", agency="kemenko-pangan", day=THU
        )
    with db.session() as s:
        whose.close_floor(
            s, actor=tower["root"], building=B, floor="l3", agency="kemenko-pangan", day=FRI
        )
        assert [o.day for o in whose.openings(s, building=B, floor="l3")] == [THU]
    with pytest.raises(Refusal, match="on 2026-12-04"):
        book(db, bayu, "a1", FRI)
    assert state(db, bayu, "l3", "a1", FRI)[0] == "not_bookable"
    with db.session() as s, pytest.raises(ConflictError, match="the building's"):
        whose.open_floor(
            s, actor=tower["root"], building=B, floor="l5", agency="kemenko-pangan", days=[THU]
        )
