"""How meeting rooms are used: people counted against capacity and against the booking.

A tower plans its shared meeting rooms from what happens in them, not from the calendar:
studies of offices find rooms booked and left empty (ghost bookings), rooms for twelve used
by one person, and the largest meetings filling half a room. For each room and period this
report takes the room's bookings (not cancelled) and its people counter's readings
(``people``/``count`` from the room node) during each booking:

- a booking is *measured* when the counter reported during it, and a *ghost* when it was
  measured and counted nobody the whole time (booked, nobody came);
- a measured booking's *peak* is the most people counted at once; ``solo`` bookings peaked
  at one person; ``fill`` is peak / capacity, averaged, and its largest;
- ``released`` bookings ended early by a release (a ghost the platform let go).

Counts of people, never who: nothing here names a person. An agency's own roles see the
rooms of their agency's floors and the building's shared ones.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from server.auth.service import Principal
from server.bookings.models import Booking
from server.calendar.dates import from_ms, to_ms
from server.calendar.hours import building_tz
from server.db import Database
from server.readings.store import ReadingStore, SpaceFilter
from server.spaces.models import Floor, Room


class RoomUse(BaseModel):
    """One meeting room's bookings over the period, and the people counted in them."""

    room: str
    name: str
    floor: str
    capacity: int
    bookings: int
    booked_hours: float
    measured: int = Field(description="Bookings during which the room's counter reported.")
    ghosts: int = Field(description="Measured bookings in which nobody was counted.")
    ghost_rate: float | None
    released: int = Field(description="Bookings released before their end.")
    solo: int = Field(description="Measured bookings whose peak was one person.")
    solo_rate: float | None
    mean_peak: float | None = Field(description="People at the busiest moment, on average.")
    mean_fill: float | None = Field(description="Peak / capacity, on average (0..1).")
    max_fill: float | None = Field(description="The fullest booking's peak / capacity.")


class MeetingsReport(BaseModel):
    """The building's meeting rooms over a period."""

    building: str
    start: datetime
    end: datetime
    rooms: list[RoomUse]
    method: str = (
        "Each booking (not cancelled) against the room's people counter during it: measured "
        "when the counter reported, a ghost when it counted nobody the whole time; peak is "
        "the most people counted at once, fill the peak over the room's capacity."
    )


@dataclass(frozen=True, slots=True)
class _Facts:
    tz: ZoneInfo
    rooms: list[tuple[Room, str]]
    """The rooms the actor reaches, each with its floor's code."""
    booked: dict[str, list[Booking]]
    """Each room's bookings (not cancelled) in the period, by room code."""


def _facts(db: Database, building: str, actor: Principal, s: int, e: int) -> _Facts:
    """What the relational database says, in one session.

    An agency's roles reach their agency's floors' rooms and the building's shared ones.
    """
    with db.session(commit=False) as session:
        _, tz = building_tz(session, building)
        rows = session.execute(
            select(Room, Floor.code, Floor.agency_id)
            .join(Floor, Floor.id == Room.floor_id)
            .where(Room.building_id == building)
            .order_by(Floor.level, Room.code)
        ).all()
        found = session.scalars(
            select(Booking).where(
                Booking.building_id == building,
                Booking.space_kind == "room",
                Booking.state != "cancelled",
                Booking.start_ms < e,
                Booking.end_ms > s,
            )
        ).all()
        session.expunge_all()
    booked: dict[str, list[Booking]] = defaultdict(list)
    for b in found:
        booked[b.space_code].append(b)
    rooms = [(r, code) for r, code, agency in rows if agency is None or actor.reaches(agency)]
    return _Facts(tz, rooms, booked)


async def meetings(
    db: Database,
    store: ReadingStore,
    *,
    building: str,
    start: datetime,
    end: datetime,
    actor: Principal,
) -> MeetingsReport:
    """Each meeting room ``actor`` reaches, over [start, end)."""
    s, e = to_ms(start), to_ms(end)
    facts = await run_in_threadpool(_facts, db, building, actor, s, e)
    out = []
    for room, floor in facts.rooms:
        mine = facts.booked.get(room.code, [])
        counts = []
        if mine:
            first = min(b.start_ms for b in mine)
            last = max(b.end_ms for b in mine)
            counts = await store.points(
                stream="people",
                fields=["count"],
                start_ms=max(first, s),
                end_ms=min(last, e),
                where=SpaceFilter(building=building, space=room.code),
            )
        out.append(_use(room, floor, mine, [(p.ts_ms, p.fields.get("count")) for p in counts]))
    tz = facts.tz
    return MeetingsReport(building=building, start=from_ms(s, tz), end=from_ms(e, tz), rooms=out)


def _use(
    room: Room, floor: str, bookings: list[Booking], counts: list[tuple[int, object]]
) -> RoomUse:
    measured = ghosts = solo = released = 0
    peaks: list[int] = []
    hours = 0.0
    for b in bookings:
        until = b.released_ms if b.released_ms is not None else b.end_ms
        hours += max(0, min(until, b.end_ms) - b.start_ms) / 3_600_000
        released += b.released_ms is not None and b.released_ms < b.end_ms
        seen = [int(c) for t, c in counts if b.start_ms <= t < until and isinstance(c, int | float)]
        if not seen:
            continue
        measured += 1
        peak = max(seen)
        if peak == 0:
            ghosts += 1
            continue
        peaks.append(peak)
        solo += peak == 1
    fills = [min(1.0, p / room.capacity) for p in peaks] if room.capacity else []
    return RoomUse(
        room=room.code,
        name=room.name,
        floor=floor,
        capacity=room.capacity,
        bookings=len(bookings),
        booked_hours=round(hours, 2),
        measured=measured,
        ghosts=ghosts,
        ghost_rate=round(ghosts / measured, 4) if measured else None,
        released=released,
        solo=solo,
        solo_rate=round(solo / len(peaks), 4) if peaks else None,
        mean_peak=round(sum(peaks) / len(peaks), 2) if peaks else None,
        mean_fill=round(sum(fills) / len(fills), 4) if fills else None,
        max_fill=round(max(fills), 4) if fills else None,
    )


def as_csv(report: MeetingsReport) -> str:
    """The report as CSV, a line per room."""
    out = io.StringIO()
    names = list(RoomUse.model_fields)
    w = csv.writer(out)
    w.writerow(names)
    for r in report.rooms:
        w.writerow(["" if (v := getattr(r, n)) is None else v for n in names])
    return out.getvalue()
