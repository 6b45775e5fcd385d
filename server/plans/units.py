"""Units as work plans see them: each unit's head (atasan) and its team days.

The head sees the unit's week (``server.plans.service.team_week``); a team day is when the
unit comes in together, and a plan that is elsewhere then is told so. Set by the agency's
administrator (or the platform's).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.agencies.models import Unit
from server.audit.service import record
from server.auth.models import User
from server.exceptions import ConflictError, Forbidden, NotFoundError
from server.i18n import T
from server.plans.schemas import UnitDoc, UnitPublic


def units(session: Session, agency: str) -> list[UnitPublic]:
    """The agency's units with their heads and team days."""
    rows = session.execute(
        select(Unit, User.username)
        .outerjoin(User, User.id == Unit.supervisor_id)
        .where(Unit.agency_id == agency)
        .order_by(Unit.name)
    ).all()
    return [
        UnitPublic(
            name=u.name,
            supervisor=head,
            team_days=[int(d) for d in (u.team_days or "").split(",") if d.strip()],
        )
        for u, head in rows
    ]


def set_unit(
    session: Session, *, actor: str, agency: str, name: str, doc: UnitDoc, scope: str | None
) -> UnitPublic:
    """Set a unit's head and team days (``scope``: the one agency the actor administers)."""
    if scope is not None and agency != scope:
        raise Forbidden(T("you administer {agency} only", agency=scope))
    row = session.scalar(select(Unit).where(Unit.agency_id == agency, Unit.name == name))
    if row is None:
        raise NotFoundError(T("{agency} has no unit {unit}", agency=agency, unit=repr(name)))
    head = None
    if doc.supervisor:
        head = session.scalar(select(User).where(User.username == doc.supervisor, User.active))
        if head is None or head.agency_id != agency:
            raise ConflictError(
                T(
                    "the head of a unit is a person of {agency}; {user} is not",
                    agency=agency,
                    user=repr(doc.supervisor),
                )
            )
    if any(not 0 <= d <= 6 for d in doc.team_days):
        raise ConflictError(T("weekdays are 0 (Monday) to 6 (Sunday)"))
    row.supervisor_id = head.id if head is not None else None
    row.team_days = ",".join(str(d) for d in sorted(set(doc.team_days))) or None
    record(
        session,
        actor=actor,
        action="unit.plans",
        target_kind="agency",
        target_id=agency,
        unit=name,
        supervisor=doc.supervisor,
        team_days=row.team_days,
        agency=agency,
    )
    return UnitPublic(
        name=name,
        supervisor=head.username if head else None,
        team_days=sorted(set(doc.team_days)),
    )
