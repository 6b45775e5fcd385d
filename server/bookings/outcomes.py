"""Finished bookings' outcomes, written to the reading store as the "booking" stream.

Reports and the energy per occupied desk-hour read them there beside the sensors' data.
The sweep exports what is not there yet and marks it; a failed write is tried again at
the next sweep.
"""

from __future__ import annotations

from sqlalchemy import select, update

from contracts.registry import SpaceRef
from server.bookings.models import FINISHED, Booking
from server.clock import now_ms as clock_ms
from server.db import Database
from server.readings.store import StoredReading
from server.spaces.service import space_ref


def outcomes(db: Database, limit: int = 1000) -> tuple[list[StoredReading], list[int]]:
    """Finished bookings not yet in the reading store, as "booking" stream points."""
    points, ids = [], []
    with db.session(commit=False) as session:
        rows = session.scalars(
            select(Booking)
            .where(Booking.state.in_(FINISHED), Booking.exported_ms.is_(None))
            .order_by(Booking.id)
            .limit(limit)
        ).all()
        for b in rows:
            ref = space_ref(session, b.building_id, b.space_code)
            ended = b.checked_out_ms or b.released_ms or b.end_ms
            attended = 0.0
            if b.checked_in_ms is not None:
                attended = max(0, min(ended, b.end_ms) - b.checked_in_ms) / 3_600_000
            points.append(
                StoredReading(
                    "booking",
                    ended,
                    "booking",
                    SpaceRef.model_validate(ref) if ref else None,
                    {
                        "outcome": b.outcome or b.state,
                        "booking_id": b.id,
                        "booked_h": round((b.end_ms - b.start_ms) / 3_600_000, 4),
                        "attended_h": round(attended, 4),
                    },
                )
            )
            ids.append(b.id)
    return points, ids


def mark_exported(db: Database, ids: list[int], now_ms: int | None = None) -> None:
    """Note that these bookings' outcomes are in the reading store."""
    if ids:
        with db.session() as session:
            session.execute(
                update(Booking).where(Booking.id.in_(ids)).values(exported_ms=now_ms or clock_ms())
            )
