"""Desks taken out of use for a while (maintenance, a broken chair), and ending that."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.bookings.models import DeskBlock
from server.bookings.schemas import DeskBlockDoc
from server.bookings.service import find_space
from server.calendar.dates import aware, from_ms, to_ms
from server.calendar.hours import building_tz
from server.clock import now_utc
from server.exceptions import NotFoundError, Refusal
from server.i18n import T
from server.spaces.models import Desk


def block_desk(session: Session, *, actor: str, building: str, desk: str, doc: DeskBlockDoc) -> int:
    """Take a desk out of use for a while (maintenance); returns the block's id."""
    _, tz = building_tz(session, building)
    row = find_space(session, building, desk, None)
    start, end = aware(doc.start, tz), aware(doc.end, tz)
    if end <= start:
        raise Refusal("slot", T("the end must be after the start"))
    block = DeskBlock(
        desk_id=row.id,
        start_ms=to_ms(start),
        end_ms=to_ms(end),
        reason=doc.reason,
        created_by=actor,
    )
    session.add(block)
    session.flush()
    record(
        session,
        actor=actor,
        action="desk.block",
        target_kind="desk",
        target_id=f"{building}/{desk}",
        reason=doc.reason,
    )
    return block.id


@dataclass(frozen=True, slots=True)
class BlockShown:
    """A desk's block as the administrators' page lists it, in the building's zone."""

    id: int
    desk: str
    start: datetime
    end: datetime
    reason: str
    created_by: str


def blocks(session: Session, *, building: str, now: datetime | None = None) -> list[BlockShown]:
    """The building's desk blocks not over yet, soonest first."""
    _, tz = building_tz(session, building)
    at = to_ms(now or now_utc())
    rows = session.execute(
        select(DeskBlock, Desk.code)
        .join(Desk, Desk.id == DeskBlock.desk_id)
        .where(Desk.building_id == building, DeskBlock.end_ms > at)
        .order_by(DeskBlock.start_ms)
    )
    return [
        BlockShown(
            blk.id,
            code,
            from_ms(blk.start_ms, tz),
            from_ms(blk.end_ms, tz),
            blk.reason,
            blk.created_by,
        )
        for blk, code in rows
    ]


def end_block(session: Session, *, actor: str, block_id: int, now: datetime | None = None) -> str:
    """End a desk's block now, or drop one not yet begun; returns the desk's code."""
    block = session.get(DeskBlock, block_id)
    if block is None:
        raise NotFoundError(T("no desk block {id}", id=block_id))
    desk = session.get(Desk, block.desk_id)
    code = desk.code if desk else str(block.desk_id)
    at = to_ms(now or now_utc())
    if block.start_ms >= at:
        session.delete(block)  # not begun: as if it never was
    else:
        block.end_ms = min(block.end_ms, at)
    record(
        session,
        actor=actor,
        action="desk.unblock",
        target_kind="desk",
        target_id=f"{desk.building_id if desk else ''}/{code}",
        block=block_id,
    )
    return code
