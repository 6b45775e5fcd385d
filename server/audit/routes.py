"""Reading the audit log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.audit.service import AuditPublic, entries
from server.auth.roles import ADMINS
from server.auth.service import Principal
from server.deps import DatabaseDep, Roles

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=list[AuditPublic])
def audit_log(
    _: Annotated[Principal, Roles(*ADMINS)],
    db: DatabaseDep,
    target_kind: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditPublic]:
    """Who changed what, newest first; filter by thing or by actor."""
    with db.session() as session:
        return entries(
            session, target_kind=target_kind, target_id=target_id, actor=actor, limit=limit
        )
