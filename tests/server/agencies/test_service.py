"""Agencies (server/agencies/service.py) on SQLite and PostgreSQL: made, changed, listed, and
named by people and floors, each checked to exist and recorded in the audit log."""

from __future__ import annotations

import pytest

from harness.layouts import one_floor
from server.agencies import service
from server.agencies.schemas import AgencyCreate, AgencyDoc
from server.audit.service import entries
from server.auth.schemas import UserCreate, UserUpdate
from server.auth.service import create_user, update_user
from server.db import Database
from server.exceptions import ConflictError, Forbidden, NotFoundError
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from server.spaces.service import building, floor_map

PMK = AgencyCreate(
    id="kemenko-pmk",
    name="Kementerian Koordinator Bidang Pembangunan Manusia dan Kebudayaan",
    name_en="Coordinating Ministry for Human Development and Culture",
    controller="Kemenko PMK",
    contact="ppid@kemenkopmk.example.go.id",
)
PANGAN = AgencyCreate(id="kemenko-pangan", name="Kementerian Koordinator Bidang Pangan")


def test_agencies_are_made_changed_and_listed_by_code(db: Database) -> None:
    with db.session() as s:
        service.create(s, actor="root", new=PMK)
        service.create(s, actor="root", new=PANGAN)
    with db.session() as s, pytest.raises(ConflictError, match="agency 'kemenko-pmk' exists"):
        service.create(s, actor="root", new=PMK)
    with db.session() as s:
        listed = service.agencies(s)
        assert [a.id for a in listed] == ["kemenko-pangan", "kemenko-pmk"]
        assert listed[1].said("en") == "Coordinating Ministry for Human Development and Culture"
        assert listed[0].said("en") == "Kementerian Koordinator Bidang Pangan"  # no English
        changed = service.update(
            s,
            actor="root",
            code="kemenko-pangan",
            doc=AgencyDoc(name="Kemenko Pangan", contact="dpo@pangan.example.go.id"),
        )
        assert (changed.name, changed.contact, changed.controller) == (
            "Kemenko Pangan",
            "dpo@pangan.example.go.id",
            None,
        )
    with db.session() as s, pytest.raises(NotFoundError, match="no agency 'kemenko-x'"):
        service.update(s, actor="root", code="kemenko-x", doc=AgencyDoc(name="X"))
    with db.session(commit=False) as s:
        trail = [(e.action, e.target_id) for e in entries(s, target_kind="agency", limit=10)]
        assert trail == [
            ("agency.update", "kemenko-pangan"),
            ("agency.create", "kemenko-pangan"),
            ("agency.create", "kemenko-pmk"),
        ]


def test_a_person_and_a_floor_belong_to_an_agency_that_exists(db: Database) -> None:
    with db.session() as s:
        service.create(s, actor="root", new=PMK)
        siti = create_user(
            s,
            actor="root",
            new=UserCreate(
                username="siti", password="p" * 12, display_name="Siti", agency="kemenko-pmk"
            ),
        )
        assert siti.agency == "kemenko-pmk"
        root = create_user(
            s,
            actor="t",
            new=UserCreate(username="root", password="p" * 12, display_name="Root", role="admin"),
        )
        assert root.agency is None  # the platform's own staff
    with db.session() as s, pytest.raises(NotFoundError, match="no agency 'kemenko-x'"):
        create_user(
            s,
            actor="root",
            new=UserCreate(
                username="budi", password="p" * 12, display_name="Budi", agency="kemenko-x"
            ),
        )
    with db.session() as s:
        moved = update_user(s, actor="root", username="siti", change=UserUpdate(agency=None))
        assert moved.agency is None

    layout = one_floor("menara-1", "l3", ["d1"])
    layout["floors"][0]["agency"] = "kemenko-pmk"
    layout["floors"].append({**one_floor("menara-1", "l4", ["d2"])["floors"][0], "id": "l4"})
    with db.session() as s:
        import_layout(s, parse_layout(layout))
        assert floor_map(s, "menara-1", "l3").agency == "kemenko-pmk"
        assert floor_map(s, "menara-1", "l4").agency is None  # the building's, shared
        assert [(f.id, f.agency) for f in building(s, "menara-1").floors] == [
            ("l3", "kemenko-pmk"),
            ("l4", None),
        ]
    layout["floors"][0]["agency"] = "kemenko-x"
    with db.session() as s, pytest.raises(NotFoundError, match="no agency 'kemenko-x'"):
        import_layout(s, parse_layout(layout))


def test_staff_roles_are_the_buildings_and_an_agencys_own_roles_need_one(db: Database) -> None:
    """A platform administrator, building operator or installer belongs to no agency (their
    reach is the whole); an agency's administrator or manager belongs to exactly one."""
    with db.session() as s:
        service.create(s, actor="root", new=PMK)
        create_user(
            s,
            actor="root",
            new=UserCreate(
                username="siti", password="p" * 12, display_name="Siti", agency="kemenko-pmk"
            ),
        )
    for role in ("admin", "facility_manager", "installer"):
        with db.session() as s, pytest.raises(ConflictError, match="leave the agency empty"):
            create_user(
                s,
                actor="root",
                new=UserCreate(
                    username=f"x-{role}",
                    password="p" * 12,
                    display_name="X",
                    role=role,
                    agency="kemenko-pmk",
                ),
            )
    for role in ("agency_admin", "agency_manager"):
        with db.session() as s, pytest.raises(ConflictError, match="acts for one agency"):
            create_user(
                s,
                actor="root",
                new=UserCreate(
                    username=f"x-{role}", password="p" * 12, display_name="X", role=role
                ),
            )
    with db.session() as s, pytest.raises(ConflictError, match="leave the agency empty"):
        update_user(s, actor="root", username="siti", change=UserUpdate(role="admin"))
    with db.session() as s:
        made = update_user(s, actor="root", username="siti", change=UserUpdate(role="agency_admin"))
        assert (made.role, made.agency) == ("agency_admin", "kemenko-pmk")
        made = update_user(
            s, actor="root", username="siti", change=UserUpdate(role="admin", agency=None)
        )
        assert (made.role, made.agency) == ("admin", None)


def test_an_agencys_people_belong_to_its_units_once_it_lists_them(db: Database) -> None:
    with db.session() as s:
        service.create(s, actor="root", new=PMK)
        siti = UserCreate(
            username="siti", password="p" * 12, display_name="Siti", agency="kemenko-pmk"
        )
        create_user(s, actor="root", new=siti.model_copy(update={"team": "Tim Bebas"}))
    # No unit listed yet: the team is free text, as before units.
    with db.session() as s:
        assert service.units(s, "kemenko-pmk") == []
        assert service.add_unit(s, actor="root", agency="kemenko-pmk", name="  Biro  Umum ") == [
            "Biro Umum"
        ]
        service.add_unit(s, actor="root", agency="kemenko-pmk", name="Pusdatin")
    with db.session() as s, pytest.raises(ConflictError, match="has a unit 'Pusdatin' already"):
        service.add_unit(s, actor="root", agency="kemenko-pmk", name="Pusdatin")
    # Listed: a person's unit is one of them, said with the list.
    with db.session() as s, pytest.raises(ConflictError, match="its units: Biro Umum, Pusdatin"):
        update_user(s, actor="root", username="siti", change=UserUpdate(team="Biro Lain"))
    with db.session() as s:
        made = update_user(s, actor="root", username="siti", change=UserUpdate(team="Pusdatin"))
        assert made.team == "Pusdatin"
    # An agency's administrator adds units to their own agency only.
    with db.session() as s, pytest.raises(Forbidden, match="you administer kemenko-pangan only"):
        service.add_unit(s, actor="x", agency="kemenko-pmk", name="Deputi", scope="kemenko-pangan")
    # Moved to another agency, a person leaves their unit behind.
    with db.session() as s:
        service.create(s, actor="root", new=AgencyCreate(id="kemenko-pangan", name="Pangan"))
        moved = update_user(
            s, actor="root", username="siti", change=UserUpdate(agency="kemenko-pangan")
        )
        assert (moved.agency, moved.team) == ("kemenko-pangan", None)
