"""Utilization per desk, zone, floor or building for a period.

What was booked, what was used, how often nobody came, how often somebody came unbooked,
and the busiest moment. A group of fewer people than the privacy minimum is withheld: its
row says so and carries no figures (server.suppression).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.service import Principal, opted_in
from server.bookings.agencies import SHARED
from server.bookings.models import Booking
from server.calendar.dates import from_ms, to_ms
from server.calendar.hours import WorkingHours, building_tz
from server.spaces.service import desk_places
from server.suppression import withheld

GroupBy = Literal["desk", "zone", "floor", "building", "agency"]


class UtilizationRow(BaseModel):
    """One desk, zone, floor or building over the period (figures None when withheld)."""

    group: str
    desks: int
    open_desk_hours: float
    withheld: bool = Field(
        default=False,
        description="Too few people booked in this group to show its figures (privacy).",
    )
    bookings: int | None
    booked_hours: float | None
    attended_hours: float | None
    utilization: float | None
    no_shows: int | None
    no_show_rate: float | None
    walk_ins: int | None
    walk_in_rate: float | None
    released_early: int | None
    checked_in_by_sensor: int | None = Field(description="Check-ins the desk's sensor made.")
    checked_in_by_booker: int | None = Field(description="Check-ins by the booker (QR, app).")
    checked_in_by_manager: int | None = Field(
        description="Check-ins a facility manager made for the booker: not a sensor's word."
    )
    peak_occupied: int | None
    peak_at: datetime | None


def utilization(
    session: Session,
    *,
    building: str,
    start: datetime,
    end: datetime,
    by: GroupBy,
    min_group: int,
    actor: Principal,
) -> list[UtilizationRow]:
    """The report as ``actor`` may read it, one row per group in group order.

    Small groups are withheld. An agency's manager reads their agency's floors' desks only
    (counted, and withheld, among themselves).
    """
    _, tz = building_tz(session, building)
    start = start if start.tzinfo else start.replace(tzinfo=tz)
    end = end if end.tzinfo else end.replace(tzinfo=tz)
    s, e = to_ms(start), to_ms(end)
    group_of = {
        d_id: {
            "desk": p.code,
            "floor": p.floor,
            "zone": p.zone,
            "building": building,
            "agency": p.agency or SHARED,
        }[by]
        for d_id, p in desk_places(session, building).items()
        if actor.reaches(p.agency)
    }
    size: dict[str, int] = defaultdict(int)
    for g in group_of.values():
        size[g] += 1
    rows = session.scalars(
        select(Booking).where(
            Booking.building_id == building,
            Booking.desk_id.is_not(None),
            Booking.state != "cancelled",
            Booking.start_ms < e,
            Booking.end_ms > s,
        )
    ).all()
    open_hours = WorkingHours.of(session, building).open_seconds(s, e) / 3600
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    edges: dict[str, list[tuple[int, int]]] = defaultdict(list)
    people: dict[str, set[int]] = {g: set() for g in size}
    for b in rows:
        assert b.desk_id is not None
        if b.desk_id not in group_of:
            continue
        g = group_of[b.desk_id]
        if b.user_id is not None:
            people[g].add(b.user_id)
        st = stats[g]
        st["bookings"] += 1
        st["booked"] += (min(b.end_ms, e) - max(b.start_ms, s)) / 3_600_000
        st["no_shows"] += b.outcome == "no_show"
        st["walk_ins"] += b.outcome == "walk_in"
        st["released_early"] += b.outcome == "released_early"
        if b.checked_in_ms is not None:
            source = {"sensor": "sensor", "manager": "manager"}.get(b.checked_in_by or "", "booker")
            st[f"by_{source}"] += 1
            until = b.checked_out_ms or b.released_ms or b.end_ms
            used_from, used_to = max(b.checked_in_ms, s), min(until, b.end_ms, e)
            if used_to > used_from:
                st["attended"] += (used_to - used_from) / 3_600_000
                edges[g] += [(used_from, 1), (used_to, -1)]
    # Only the people of small groups can make one visible: ask about them alone.
    small = [who for who in people.values() if 0 < len(who) < min_group]
    hide = withheld(people, min_group, opted_in(session, set().union(*small)) if small else ())
    out = []
    for g in sorted(size):
        st = stats[g]
        if g in hide:
            out.append(
                UtilizationRow.model_validate(
                    {
                        "group": g,
                        "desks": size[g],
                        "withheld": True,
                        "open_desk_hours": round(size[g] * open_hours, 2),
                    }
                    | dict.fromkeys(_FIGURES)
                )
            )
            continue
        peak, peak_at, current = 0, None, 0
        for t, step in sorted(edges[g]):
            current += step
            if current > peak:
                peak, peak_at = current, t
        available = size[g] * open_hours
        n = int(st["bookings"])
        out.append(
            UtilizationRow(
                group=g,
                desks=size[g],
                open_desk_hours=round(available, 2),
                bookings=n,
                booked_hours=round(st["booked"], 2),
                attended_hours=round(st["attended"], 2),
                utilization=round(st["attended"] / available, 4) if available else 0.0,
                no_shows=int(st["no_shows"]),
                no_show_rate=round(st["no_shows"] / n, 4) if n else 0.0,
                walk_ins=int(st["walk_ins"]),
                walk_in_rate=round(st["walk_ins"] / n, 4) if n else 0.0,
                released_early=int(st["released_early"]),
                checked_in_by_sensor=int(st["by_sensor"]),
                checked_in_by_booker=int(st["by_booker"]),
                checked_in_by_manager=int(st["by_manager"]),
                peak_occupied=peak,
                peak_at=from_ms(peak_at, tz) if peak_at else None,
            )
        )
    return out


_FIGURES = [
    name
    for name in UtilizationRow.model_fields
    if name not in ("group", "desks", "open_desk_hours", "withheld")
]


def as_csv(rows: list[UtilizationRow]) -> str:
    """The report as CSV, one header line and a line per group."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(list(UtilizationRow.model_fields))
    for row in rows:
        values = row.model_dump()
        values["peak_at"] = row.peak_at.isoformat() if row.peak_at else None
        writer.writerow("" if v is None else v for v in values.values())
    return buf.getvalue()
