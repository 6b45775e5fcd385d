"""Reading the audit log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import DatabaseDep, PeopleAdmin
from server.audit.service import AuditPublic
from server.auth.service import audit_entries
from server.calendar.dates import Moment, aware, to_ms

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=list[AuditPublic])
def audit_log(
    admin: PeopleAdmin,
    db: DatabaseDep,
    target_kind: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    action: Annotated[str | None, Query(description="Actions beginning with this")] = None,
    text: Annotated[str | None, Query(max_length=100, description="Words anywhere")] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditPublic]:
    """Who changed what, newest first; by thing, actor, action, words and time span.

    An agency's administrator reads what concerns their agency and its people.
    """
    with db.session() as session:
        return audit_entries(
            session,
            admin,
            target_kind=target_kind,
            target_id=target_id,
            actor=actor,
            action=action,
            text=text,
            since_ms=to_ms(aware(since, db.zone)) if since else None,
            until_ms=to_ms(aware(until, db.zone)) if until else None,
            limit=limit,
        )
