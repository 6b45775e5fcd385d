"""The sensors keep bookings honest, and each desk's LED shows what the desk is doing.

- A desk node reporting someone within a booking's check-in window (15 minutes before
  the start until the grace period after it) checks the booking in ("sensor").
- A booking nobody checked into by the end of the grace period is released: no-show.
- A checked-in desk vacant for the policy's ``release_after_vacant_minutes`` is released
  early; the booking keeps its record (outcome ``released_early``).
- A checked-in booking whose time is over is completed (``attended``).
- Presence at a desk with no booking shows it occupied (a walk-in), so the map never shows
  an occupied desk as free.

Whenever any of this changes, the desk's LED state is recomputed and sent
(``server.bookings.desks``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.bookings.desks import DeskLights, ZoneCache, live_row
from server.bookings.mail import queue_for
from server.bookings.models import ACTIVE, Booking, DeskLive
from server.calendar.dates import CHECKIN_OPENS_BEFORE_MS
from server.calendar.hours import zone_of
from server.calendar.policy import policy_for
from server.db import Database
from server.readings.store import StoredReading
from server.registry.models import Device
from server.spaces.models import Building, Desk

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Seen:
    """One presence reading of a desk node."""

    building: str
    desk: str
    device: str
    occupied: bool
    ts: int


class DeskMonitor:
    """Applies presence to bookings: sensor check-in, releases, completion."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Callable[[], float] = time.time,
        mail: bool = False,
        reminder_minutes: int = 5,
    ) -> None:
        self.mail = mail
        self.reminder_ms = reminder_minutes * 60_000
        self.db = db
        self.clock = clock
        self.lights = DeskLights(db=db, clock=clock)

    def now_ms(self) -> int:
        """The monitor's clock in epoch milliseconds."""
        return int(self.clock() * 1000)

    async def on_stored(self, readings: list[StoredReading]) -> None:
        """Called by the ingest path after it stored a batch."""
        seen = [
            Seen(r.space.building, r.space.space, r.device, bool(r.fields["occupied"]), r.ts_ms)
            for r in readings
            if r.stream == "presence" and r.space is not None and r.space.space_kind == "desk"
        ]
        if seen:
            await asyncio.to_thread(self.apply, seen)

    def apply(self, seen: Iterable[Seen]) -> None:
        """Record presence and check people in; desks' LEDs follow."""
        with self.db.session() as session:
            for s in sorted(seen, key=lambda x: x.ts):
                desk = session.scalar(
                    select(Desk).where(Desk.building_id == s.building, Desk.code == s.desk)
                )
                if desk is None:
                    continue
                live = live_row(session, desk.id, s.ts)
                if s.ts < live.updated_ms:
                    continue  # an older reading arriving late changes nothing
                if live.occupied != s.occupied:
                    live.since_ms = s.ts
                live.occupied, live.updated_ms, live.device_id = s.occupied, s.ts, s.device
                if s.occupied:
                    self._sensor_check_in(session, desk, s)
                self.lights.show(session, desk)

    def _sensor_check_in(self, session: Session, desk: Desk, s: Seen) -> None:
        policy = policy_for(session, desk.building_id, desk.zone_id)
        grace = policy.checkin_grace_minutes * 60_000
        booking = session.scalar(
            select(Booking).where(
                Booking.desk_id == desk.id,
                Booking.state == "booked",
                Booking.start_ms - CHECKIN_OPENS_BEFORE_MS <= s.ts,
                Booking.start_ms + grace >= s.ts,
                Booking.end_ms > s.ts,
            )
        )
        if booking is not None:
            booking.state, booking.checked_in_ms, booking.checked_in_by = (
                "checked_in",
                s.ts,
                "sensor",
            )
            record(session, actor=f"sensor:{s.device}", action="booking.check_in",
                   target_kind="booking", target_id=str(booking.id), via="sensor")  # fmt: skip

    def sweep(self) -> None:
        """Release no-shows and vacated desks, complete ended bookings, refresh every LED."""
        now = self.now_ms()
        with self.db.session() as session:
            for booking in session.scalars(select(Booking).where(Booking.state.in_(ACTIVE))):
                self._settle(session, booking, now)
            with_node = select(Desk.id).join(
                Device,
                (Device.building == Desk.building_id)
                & (Device.space == Desk.code)
                & (Device.space_kind == "desk"),
            )
            desks = session.scalars(
                select(Desk).where(Desk.id.in_(select(DeskLive.desk_id)) | Desk.id.in_(with_node))
            ).all()
            zones: ZoneCache = {}
            for desk in desks:
                self.lights.show(session, desk, zones)

    def _settle(self, session: Session, booking: Booking, now: int) -> None:
        desk = session.get(Desk, booking.desk_id) if booking.desk_id else None
        zone = desk.zone_id if desk else None
        policy = policy_for(session, booking.building_id, zone)
        live = session.get(DeskLive, desk.id) if desk else None
        if booking.state == "booked" and desk is None and now >= booking.end_ms:
            # A room has no presence sensor of its own here: its use is not verified.
            booking.state, booking.outcome = "completed", "unverified"
            return
        if booking.state == "booked":
            grace_ms = policy.checkin_grace_minutes * 60_000
            if desk is not None and now > booking.start_ms + grace_ms:
                why = f"nobody checked in within {policy.checkin_grace_minutes} min"
                self._release(session, booking, now, "no_show", why)
            elif (
                desk is not None
                and booking.reminded_ms is None
                and now >= booking.start_ms + grace_ms - self.reminder_ms
            ):
                booking.reminded_ms = now
                self._mail(session, booking, "reminder")
            return
        if now >= booking.end_ms:
            booking.state, booking.outcome = "completed", booking.outcome or "attended"
            return
        vacant_ms = policy.release_after_vacant_minutes * 60_000
        since = max(live.since_ms, booking.checked_in_ms or 0) if live else None
        if (
            live is not None
            and not live.occupied
            and since is not None
            and now - since >= vacant_ms
        ):
            self._release(session, booking, now, "released_early",
                          f"desk vacant for {policy.release_after_vacant_minutes} min")  # fmt: skip

    def _release(
        self, session: Session, booking: Booking, now: int, outcome: str, why: str
    ) -> None:
        booking.state, booking.outcome = "released", outcome
        booking.released_ms, booking.release_reason = now, why
        record(session, actor="sensors", action=f"booking.{outcome}", target_kind="booking",
               target_id=str(booking.id), reason=why)  # fmt: skip
        self._mail(session, booking, "released")
        logger.info("booking %d released (%s): %s", booking.id, outcome, why)

    def _mail(self, session: Session, booking: Booking, kind: str) -> None:
        if self.mail:
            building = session.get(Building, booking.building_id)
            queue_for(session, booking, kind, zone_of(building))
