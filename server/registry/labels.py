"""Desk labels: the QR code that opens a desk's check-in page, with the desk's secret.

The secret is what makes a QR check-in worth something: the page's address alone can be
guessed, the label on the desk cannot. An installer (of the desk's building) prints it,
and gives the desk a new secret when a label was photographed or lost: the old one then
checks nobody in, and the label is printed again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.labels import checkin_url
from server.audit.service import record
from server.auth.service import Principal
from server.exceptions import NotFoundError
from server.i18n import T
from server.registry.devices import may_work_in
from server.spaces.models import Desk, Floor


@dataclass(frozen=True, slots=True)
class DeskLabel:
    """What a desk's label shows: its QR code's address, the desk's and the floor's names."""

    url: str
    desk: str
    floor: str


def _desk(session: Session, actor: Principal, building: str, code: str) -> tuple[Desk, Floor]:
    may_work_in(actor, building, f"desk {code!r}")
    found = session.execute(
        select(Desk, Floor)
        .join(Floor, Floor.id == Desk.floor_id)
        .where(Desk.building_id == building, Desk.code == code)
    ).first()
    if found is None:
        raise NotFoundError(
            T("no desk {desk} in building {building}", desk=repr(code), building=repr(building))
        )
    return found[0], found[1]


def desk_label(
    session: Session, *, actor: Principal, building: str, desk: str, server: str
) -> DeskLabel:
    """The desk's label, its QR code pointing at ``server`` (the configured public URL)."""
    row, floor = _desk(session, actor, building, desk)
    if row.qr_key is None:
        row.qr_key = secrets.token_urlsafe(12)
    url = checkin_url(server, building, desk, row.qr_key)
    return DeskLabel(url, row.name or desk, floor.name)


def new_desk_key(
    session: Session, *, actor: Principal, building: str, desk: str, server: str
) -> DeskLabel:
    """A new secret for the desk: labels printed before check nobody in from now on."""
    row, _ = _desk(session, actor, building, desk)
    row.qr_key = secrets.token_urlsafe(12)
    record(
        session,
        actor=actor.username,
        action="desk.qr_key",
        target_kind="desk",
        target_id=f"{building}/{desk}",
    )
    return desk_label(session, actor=actor, building=building, desk=desk, server=server)
