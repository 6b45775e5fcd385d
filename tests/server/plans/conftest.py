"""A floor of agency PMK with its unit Pusdatin and six people, for the work plans' tests."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.bookings.models import Booking
from server.db import Database
from server.plans import follow as following
from server.plans import service, units
from server.plans.schemas import DayDoc, UnitDoc, WeekDoc
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.office import WITA

B = "menara-r"
AG = "kemenko-pmk"
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=WITA)  # a Monday morning, before opening
MON = date(2026, 12, 7)
OFFICE_WEEK = ["office", "office", "home", "office", "home", None, None]


def _layout() -> dict[str, object]:
    desks = [{"id": f"u-{i}", "zone": "l2-u", "x": i, "y": 1} for i in range(1, 4)]
    desks += [
        {"id": f"s-{i}", "zone": "l2-s", "x": i, "y": 5, "neighbourhood": "l2-tim"}
        for i in range(1, 4)
    ]
    return {
        "building": {"id": B, "name": "Menara R"},
        "floors": [
            {
                "id": "l2",
                "name": "Lantai 2",
                "level": 2,
                "width": 40,
                "height": 10,
                "agency": AG,
                "zones": [
                    {"id": "l2-u", "name": "Sayap Utara"},
                    {"id": "l2-s", "name": "Sayap Selatan"},
                    {
                        "id": "l2-tim",
                        "name": "Area Pusdatin",
                        "kind": "neighbourhood",
                        "team": "Pusdatin",
                    },
                ],
                "desks": desks,
                "rooms": [],
            }
        ],
    }


@pytest.fixture
def unit(db: Database) -> dict[str, Principal]:
    """Agency PMK's floor, its unit Pusdatin (head: kepala), and six of its people."""
    people = {}
    with db.session() as s:
        agencies.create(s, actor="root", new=AgencyCreate(id=AG, name="PMK"))
        agencies.add_unit(s, actor="root", agency=AG, name="Pusdatin")
        agencies.add_unit(s, actor="root", agency=AG, name="Biro Umum")
        import_layout(s, parse_layout(_layout()))
        for name, team, role in (
            ("kepala", "Pusdatin", "employee"),
            ("ani", "Pusdatin", "employee"),
            ("bima", "Pusdatin", "employee"),
            ("citra", "Pusdatin", "employee"),
            ("dodi", "Biro Umum", "employee"),
            ("manajer", None, "agency_manager"),
        ):
            new = UserCreate(
                username=name,
                password="p" * 12,
                display_name=name.title(),
                role=role,
                agency=AG,
                team=team,
            )
            u = create_user(s, actor="t", new=new)
            people[name] = Principal(u.username, u.role, u.display_name, team, agency=AG)
        units.set_unit(
            s,
            actor="root",
            agency=AG,
            name="Pusdatin",
            doc=UnitDoc(supervisor="kepala", team_days=[1]),
            scope=None,
        )
    return people


def week(db: Database, who: Principal, places: list[str | None], **more: object) -> None:
    with db.session() as s:
        service.set_week(s, actor=who, doc=WeekDoc.model_validate({"week": places, **more}))
        following.follow(s, user=service.user_row(s, who.username), now=NOW)


def day(db: Database, who: Principal, d: date, place: str | None) -> following.Followed:
    with db.session() as s:
        service.set_day(s, actor=who, day=d, doc=DayDoc(place=place))  # type: ignore[arg-type]
        return following.follow(s, user=service.user_row(s, who.username), days=[d], now=NOW)


def desk_bookings(db: Database, username: str) -> list[tuple[date, str, str, str | None]]:
    with db.session(commit=False) as s:
        rows = s.scalars(
            select(Booking)
            .join(Booking.owner)
            .where(Booking.owner.has(username=username))
            .order_by(Booking.start_ms)
        ).all()
        return [
            (
                datetime.fromtimestamp(b.start_ms / 1000, WITA).date(),
                b.space_code,
                b.state,
                b.origin,
            )
            for b in rows
        ]
