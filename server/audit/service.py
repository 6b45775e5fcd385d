"""Record changes in the audit log (in the same transaction as the change) and read them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, and_, func, insert, or_, select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.clock import now_ms


class AuditPublic(BaseModel):
    """An audit entry as the API shows it."""

    at_ms: int
    actor: str
    action: str
    target_kind: str
    target_id: str
    detail: dict[str, Any]


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_kind: str,
    target_id: str,
    **detail: Any,
) -> None:
    """Add an entry; it commits or rolls back with the change it describes."""
    session.add(AuditEntry(**_entry(actor, action, target_kind, target_id, detail)))


def record_many(session: Session, entries: list[tuple[str, str, str, str, dict[str, Any]]]) -> None:
    """Add many entries at once, each as :func:`record` would.

    Each is (actor, action, target kind, target id, detail); they are written in one
    statement.
    """
    if entries:
        session.execute(insert(AuditEntry), [_entry(*e) for e in entries])


def _entry(
    actor: str, action: str, target_kind: str, target_id: str, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "at_ms": now_ms(),
        "actor": actor,
        "action": action,
        "target_kind": target_kind,
        "target_id": target_id,
        "detail": json.dumps(detail, sort_keys=True, default=str),
        "agency": detail["agency"] if isinstance(detail.get("agency"), str) else None,
    }


@dataclass(frozen=True)
class Within:
    """One agency's part of the log: entries naming it, or made by or about its people."""

    agency: str
    people: Select[Any]
    """The usernames of the agency's people (a query, read by the database)."""


def entries(
    session: Session,
    *,
    target_kind: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    text: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int = 100,
    within: Within | None = None,
) -> list[AuditPublic]:
    """The newest entries first, filtered.

    By thing, actor, actions beginning with ``action``, words anywhere in the entry
    (``text``), a time span, and ``within`` one agency.
    """
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if within is not None:
        query = query.where(
            or_(
                AuditEntry.agency == within.agency,
                AuditEntry.actor.in_(within.people),
                and_(
                    AuditEntry.target_kind.in_(("user", "person")),
                    AuditEntry.target_id.in_(within.people),
                ),
            )
        )
    if target_kind:
        query = query.where(AuditEntry.target_kind == target_kind)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if text:
        like = f"%{text.lower()}%"
        query = query.where(
            or_(
                *(
                    func.lower(c).like(like)
                    for c in (
                        AuditEntry.detail,
                        AuditEntry.target_id,
                        AuditEntry.actor,
                        AuditEntry.action,
                    )
                )
            )
        )
    if since_ms is not None:
        query = query.where(AuditEntry.at_ms >= since_ms)
    if until_ms is not None:
        query = query.where(AuditEntry.at_ms < until_ms)
    return [
        AuditPublic(
            at_ms=e.at_ms,
            actor=e.actor,
            action=e.action,
            target_kind=e.target_kind,
            target_id=e.target_id,
            detail=json.loads(e.detail),
        )
        for e in session.scalars(query)
    ]
