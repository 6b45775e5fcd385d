"""Agencies and their units: made and changed by administrators, and listed.

The rules that follow from belonging to an agency (whose desks, whose reports, whose data)
live in the services of those things and ask ``agency_of`` here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.agencies.models import Agency, Unit
from server.agencies.schemas import AgencyCreate, AgencyDoc, AgencyPublic
from server.audit.service import record
from server.clock import now_ms
from server.exceptions import ConflictError, Forbidden, NotFoundError
from server.i18n import T


def _found(session: Session, code: str) -> Agency:
    agency = session.get(Agency, code)
    if agency is None:
        raise NotFoundError(T("no agency {agency}", agency=repr(code)))
    return agency


def known(session: Session, code: str | None) -> str | None:
    """``code`` once it is checked to name an agency (None stays None), else NotFoundError."""
    return None if code is None else _found(session, code).id


def agencies(session: Session) -> list[AgencyPublic]:
    """Every agency, by code."""
    return [
        AgencyPublic.model_validate(a) for a in session.scalars(select(Agency).order_by(Agency.id))
    ]


def agency(session: Session, code: str) -> AgencyPublic:
    """One agency, or NotFoundError."""
    return AgencyPublic.model_validate(_found(session, code))


def create(session: Session, *, actor: str, new: AgencyCreate) -> AgencyPublic:
    """A new agency; ConflictError when the code is taken."""
    if session.get(Agency, new.id) is not None:
        raise ConflictError(T("agency {agency} exists already", agency=repr(new.id)))
    row = Agency(**new.model_dump(), created_ms=now_ms())
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="agency.create",
        target_kind="agency",
        target_id=new.id,
        name=new.name,
    )
    return AgencyPublic.model_validate(row)


def update(
    session: Session, *, actor: str, code: str, doc: AgencyDoc, scope: str | None = None
) -> AgencyPublic:
    """Change an agency's names or its privacy controller and contact.

    ``scope`` is the one agency the actor's role reaches (``Principal.scope``): an agency's
    administrator changes their own agency only. None: the platform's administrator.
    """
    if scope is not None and code != scope:
        raise Forbidden(T("you administer {agency} only", agency=scope))
    row = _found(session, code)
    changed = {k: v for k, v in doc.model_dump().items() if getattr(row, k) != v}
    for key, value in changed.items():
        setattr(row, key, value)
    record(
        session,
        actor=actor,
        action="agency.update",
        target_kind="agency",
        target_id=code,
        **changed,
    )
    return AgencyPublic.model_validate(row)


def units(session: Session, agency: str) -> list[str]:
    """The names of ``agency``'s units, in order (empty: its people's teams are free)."""
    _found(session, agency)
    return list(
        session.scalars(select(Unit.name).where(Unit.agency_id == agency).order_by(Unit.name))
    )


def add_unit(
    session: Session, *, actor: str, agency: str, name: str, scope: str | None = None
) -> list[str]:
    """Add a unit to ``agency`` (``scope`` as in ``update``); its units now."""
    if scope is not None and agency != scope:
        raise Forbidden(T("you administer {agency} only", agency=scope))
    name = " ".join(name.split())
    if not name:
        raise ConflictError(T("a unit needs a name"))
    if name in units(session, agency):
        raise ConflictError(T("{agency} has a unit {unit} already", agency=agency, unit=repr(name)))
    session.add(Unit(agency_id=agency, name=name, created_ms=now_ms()))
    session.flush()
    record(
        session,
        actor=actor,
        action="unit.create",
        target_kind="agency",
        target_id=agency,
        unit=name,
        agency=agency,
    )
    return units(session, agency)


def check_unit(session: Session, agency: str | None, team: str | None) -> None:
    """ConflictError unless ``team`` is one of ``agency``'s units (when it lists any)."""
    if agency is None or team is None:
        return
    known_units = units(session, agency)
    if known_units and team not in known_units:
        raise ConflictError(
            T(
                "{unit} is not a unit of {agency}; its units: {units}",
                unit=repr(team),
                agency=agency,
                units=", ".join(known_units),
            )
        )
