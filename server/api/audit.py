"""Reading the audit log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import Admin, DatabaseDep
from server.audit.service import AuditPublic, entries

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=list[AuditPublic])
def audit_log(
    _: Admin,
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
