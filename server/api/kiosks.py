"""Kiosk links for admins: make one for a floor's screen, list them, revoke one."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import Admin, DatabaseDep, RowId
from server.bookings import kiosks
from server.bookings.kiosks import KioskCreate, KioskMade, KioskPublic

router = APIRouter(prefix="/api/v1/kiosks", tags=["kiosks"])


@router.post("", response_model=KioskMade, status_code=201)
def create_kiosk(new: KioskCreate, admin: Admin, db: DatabaseDep) -> KioskMade:
    """A link that opens a floor's live screen without signing in (shown once)."""
    with db.session() as session:
        return kiosks.create(session, actor=admin.username, new=new)


@router.get("", response_model=list[KioskPublic])
def list_kiosks(_: Admin, db: DatabaseDep) -> list[KioskPublic]:
    """Every kiosk link (without its secret)."""
    with db.session(commit=False) as session:
        return kiosks.listed(session)


@router.delete("/{kiosk_id}", response_model=KioskPublic)
def revoke_kiosk(kiosk_id: RowId, admin: Admin, db: DatabaseDep) -> KioskPublic:
    """End a kiosk link: its screen shows nothing from now on."""
    with db.session() as session:
        return kiosks.revoke(session, actor=admin.username, kiosk_id=kiosk_id)
