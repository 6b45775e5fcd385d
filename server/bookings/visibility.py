"""Who may see whose bookings: the person, whoever booked for them, and an admin with a reason.

Facility managers run the building from bookings without names: the lists they get name
only themselves and people who chose to be visible to colleagues. One person's history
is shown to someone else only to an administrator who states why, and that read goes in
the audit log (``personal.read``) with the reason.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.models import User
from server.auth.service import Principal
from server.exceptions import Forbidden
from server.i18n import T
from server.roles import PEOPLE_ADMINS

MIN_REASON = 10


def audit_read(session: Session, *, actor: Principal, person: str, what: str, reason: str) -> None:
    """Record that ``actor`` read ``person``'s data (or a list naming people), and why.

    The entry names the agency whose data it was (each agency is the controller of its own
    people's data): the person's agency, or none for the platform's staff or for a list.
    """
    agency = session.scalar(select(User.agency_id).where(User.username == person))
    record(
        session,
        actor=actor.username,
        action="personal.read",
        target_kind="person",
        target_id=person,
        what=what,
        reason=reason,
        role=actor.role,
        agency=agency,
    )


def stated(reason: str | None) -> str | None:
    """The reason if it says something (10 characters or more), else None."""
    return reason.strip() if reason and len(reason.strip()) >= MIN_REASON else None


def may_see_person(session: Session, actor: Principal, person: str, reason: str | None) -> bool:
    """Whether reading ``person``'s history must be audited (False: it is the actor's own).

    Raises Forbidden, saying what to do, for anyone else but an admin stating a reason (an
    agency's administrator: for a person of their agency).
    """
    if person == actor.username:
        return False
    agency = session.scalar(select(User.agency_id).where(User.username == person))
    if actor.role not in PEOPLE_ADMINS or not actor.reaches(agency):
        raise Forbidden(
            T(
                "a person's attendance is shown only to them, and to an "
                "administrator who states a reason"
            )
        )
    if stated(reason) is None:
        raise Forbidden(
            T(
                "state why you need {user}'s attendance (reason, at least 10 "
                "characters): it is recorded in the audit log",
                user=person,
            )
        )
    return True
