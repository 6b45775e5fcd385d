"""Agencies (instansi): listed for everyone signed in, made and changed by administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from server.agencies import service
from server.agencies.schemas import AgencyCreate, AgencyDoc, AgencyPublic
from server.api.deps import Admin, Anyone, DatabaseDep

router = APIRouter(prefix="/api/v1/agencies", tags=["agencies"])

Code = Annotated[str, Path(max_length=32, description="The agency's code, e.g. kemenko-pmk")]


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
def update_agency(code: Code, doc: AgencyDoc, admin: Admin, db: DatabaseDep) -> AgencyPublic:
    """Change an agency's names, or its privacy controller and contact."""
    with db.session() as session:
        return service.update(session, actor=admin.username, code=code, doc=doc)
