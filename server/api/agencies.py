"""Agencies (instansi), and the days an agency's floor seats another agency's people.

Agencies are listed for everyone signed in, and made and changed by administrators; an
agency's floor is opened to another agency (overflow) by its own or the platform's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from contracts.payloads import Label
from server.agencies import service
from server.agencies.schemas import AgencyCreate, AgencyDoc, AgencyPublic
from server.api.deps import Admin, Anyone, DatabaseDep, PeopleAdmin
from server.bookings import agencies as whose
from server.calendar import admin as calendar
from server.calendar.dates import Day
from server.calendar.schemas import AgencyPolicyDoc

router = APIRouter(prefix="/api/v1/agencies", tags=["agencies"])

Code = Annotated[str, Path(max_length=32, description="A code, e.g. kemenko-pmk or l3")]


@router.get("", response_model=list[AgencyPublic])
def list_agencies(_: Anyone, db: DatabaseDep) -> list[AgencyPublic]:
    """Every agency, by code, with who answers for its people's personal data."""
    with db.session(commit=False) as session:
        return service.agencies(session)


@router.get("/{code}", response_model=AgencyPublic)
def get_agency(code: Code, _: Anyone, db: DatabaseDep) -> AgencyPublic:
    """One agency."""
    with db.session(commit=False) as session:
        return service.agency(session, code)


@router.post("", response_model=AgencyPublic, status_code=201)
def create_agency(new: AgencyCreate, admin: Admin, db: DatabaseDep) -> AgencyPublic:
    """A new agency (409 when its code is taken)."""
    with db.session() as session:
        return service.create(session, actor=admin.username, new=new)


@router.put("/{code}", response_model=AgencyPublic)
def update_agency(code: Code, doc: AgencyDoc, admin: PeopleAdmin, db: DatabaseDep) -> AgencyPublic:
    """Change an agency's names, or its privacy controller and contact.

    An agency's administrator changes their own agency only.
    """
    with db.session() as session:
        return service.update(session, actor=admin.username, code=code, doc=doc, scope=admin.scope)


class UnitCreate(BaseModel):
    """A unit (unit kerja) of an agency."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="As the agency writes it.")


@router.get("/{code}/units", response_model=list[str])
def list_units(code: Code, _: Anyone, db: DatabaseDep) -> list[str]:
    """The agency's units, by name (empty: its people's teams are free text)."""
    with db.session(commit=False) as session:
        return service.units(session, code)


@router.post("/{code}/units", response_model=list[str], status_code=201)
def add_unit(code: Code, new: UnitCreate, admin: PeopleAdmin, db: DatabaseDep) -> list[str]:
    """Add a unit to the agency (an agency's administrator: to their own); its units now."""
    with db.session() as session:
        return service.add_unit(
            session, actor=admin.username, agency=code, name=new.name, scope=admin.scope
        )


@router.get("/{code}/booking-policy", response_model=AgencyPolicyDoc)
def get_agency_rules(code: Code, _: Anyone, db: DatabaseDep) -> AgencyPolicyDoc:
    """The agency's own booking rules for its people (a rule left out is each building's)."""
    with db.session(commit=False) as session:
        return calendar.agency_rules_doc(session, code)


@router.put("/{code}/booking-policy", response_model=AgencyPolicyDoc)
def put_agency_rules(
    code: Code, doc: AgencyPolicyDoc, admin: PeopleAdmin, db: DatabaseDep
) -> AgencyPolicyDoc:
    """Set the agency's own rules for its people.

    Each given rule narrows every building's: a shorter window, fewer bookings, a shorter
    check-in grace, fewer hours or days.
    """
    with db.session() as session:
        return calendar.set_agency_rules(
            session, actor=admin.username, agency=code, doc=doc, scope=admin.scope
        )


class OpeningCreate(BaseModel):
    """Days on which a floor seats another agency's people."""

    model_config = ConfigDict(extra="forbid")

    agency: Label
    days: list[Day] = Field(min_length=1, max_length=92)


floors = APIRouter(prefix="/api/v1/buildings/{building}/floors/{floor}/openings", tags=["agencies"])


@floors.get("", response_model=list[whose.Opening])
def list_openings(building: Code, floor: Code, _: Anyone, db: DatabaseDep) -> list[whose.Opening]:
    """The days an agency's floor seats another agency's people (overflow)."""
    with db.session(commit=False) as session:
        return whose.openings(session, building=building, floor=floor)


@floors.post("", response_model=list[whose.Opening], status_code=201)
def open_floor(
    building: Code, floor: Code, new: OpeningCreate, admin: PeopleAdmin, db: DatabaseDep
) -> list[whose.Opening]:
    """Open the floor to another agency's people on these days (its agency's admins)."""
    with db.session() as session:
        return whose.open_floor(
            session, actor=admin, building=building, floor=floor, agency=new.agency, days=new.days
        )


@floors.delete("/{agency}/{day}", status_code=204)
def close_floor(
    building: Code,
    floor: Code,
    agency: Code,
    day: Annotated[Day, Path()],
    admin: PeopleAdmin,
    db: DatabaseDep,
) -> None:
    """Take a day back: refused (409) while one of that agency's people has a desk there."""
    with db.session() as session:
        whose.close_floor(
            session, actor=admin, building=building, floor=floor, agency=agency, day=day
        )
