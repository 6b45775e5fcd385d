"""Kiosk links: a floor's live state for a screen by the lift, opened without signing in.

An admin makes a link for a floor; its secret is shown once and only its hash is kept;
revoking it ends it at once. The screen shows desks by state and counts, never a name.
"""

from __future__ import annotations

import hashlib
import secrets

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.payloads import Label
from server.audit.service import record
from server.bookings.models import KioskLink
from server.clock import now_ms
from server.effects import announce
from server.exceptions import NotFoundError
from server.spaces.service import get_floor


class KioskCreate(BaseModel):
    """A kiosk link to make: which floor, and a name for the admins' list."""

    building: Label
    floor: Label
    label: str = Field(min_length=1, max_length=100, description="e.g. 'Lobby lift, floor 3'")


class KioskPublic(BaseModel):
    """A kiosk link as the admins' list shows it (never its secret)."""

    id: int
    building: str
    floor: str
    label: str
    created_by: str
    created_ms: int
    revoked_ms: int | None


class KioskMade(BaseModel):
    """A new kiosk link: its address holds the secret, shown only now."""

    kiosk: KioskPublic
    path: str = Field(description="Open this path on the screen (keep it like a password).")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _public(row: KioskLink) -> KioskPublic:
    return KioskPublic(
        id=row.id,
        building=row.building_id,
        floor=row.floor,
        label=row.label,
        created_by=row.created_by,
        created_ms=row.created_ms,
        revoked_ms=row.revoked_ms,
    )


def create(session: Session, *, actor: str, new: KioskCreate) -> KioskMade:
    """Make a kiosk link for a floor that exists."""
    get_floor(session, new.building, new.floor)
    secret = secrets.token_urlsafe(24)
    row = KioskLink(
        token_sha256=_digest(secret),
        building_id=new.building,
        floor=new.floor,
        label=new.label,
        created_by=actor,
        created_ms=now_ms(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="kiosk.create",
        target_kind="kiosk",
        target_id=str(row.id),
        building=new.building,
        floor=new.floor,
    )
    return KioskMade(kiosk=_public(row), path=f"/kiosk/{secret}")


def listed(session: Session) -> list[KioskPublic]:
    """Every kiosk link, newest first."""
    return [_public(r) for r in session.scalars(select(KioskLink).order_by(KioskLink.id.desc()))]


def revoke(session: Session, *, actor: str, kiosk_id: int) -> KioskPublic:
    """End a kiosk link: its screen shows nothing, and its open streams close at once.

    In every replica: the event goes out once the change is committed.
    """
    row = session.get(KioskLink, kiosk_id)
    if row is None:
        raise NotFoundError(f"no kiosk link {kiosk_id}")
    if row.revoked_ms is None:
        row.revoked_ms = now_ms()
        record(
            session, actor=actor, action="kiosk.revoke", target_kind="kiosk", target_id=str(row.id)
        )
        announce(session, {"type": "holder_revoked", "holder": kiosk_holder(row.id)})
    return _public(row)


def kiosk_holder(kiosk_id: int) -> str:
    """Whose event streams a kiosk link's are (never a person's: they are ``user:<name>``)."""
    return f"kiosk:{kiosk_id}"


def opened(session: Session, secret: str) -> KioskPublic | None:
    """The live kiosk link of ``secret``, or None (unknown or revoked)."""
    if not secret or len(secret) > 100:
        return None
    row = session.scalar(select(KioskLink).where(KioskLink.token_sha256 == _digest(secret)))
    return None if row is None or row.revoked_ms is not None else _public(row)
