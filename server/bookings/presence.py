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

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from server.audit.service import record
from server.bookings.desks import DeskLights, ZoneCache, live_row
from server.bookings.models import ACTIVE, Booking, DeskLive, RoomSeen
from server.bookings.remind import deadline, tell
from server.calendar.dates import CHECKIN_OPENS_BEFORE_MS, checkin_open, checkin_opens
from server.calendar.hours import zone_of
from server.calendar.policy import Policy, policy_for
from server.db import Database
from server.readings.store import StoredReading
from server.registry.models import Device
from server.spaces.models import Building, Desk, Room

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
        reminder_minutes: int = 5,
    ) -> None:
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
            await run_in_threadpool(self.apply, seen)
        counted = [
            (r.space.building, r.space.space, int(r.fields["count"]), r.ts_ms)
            for r in readings
            if r.stream == "people"
            and r.space is not None
            and r.space.space_kind == "room"
            and isinstance(r.fields.get("count"), int | float)
        ]
        if counted:
            await run_in_threadpool(self.count_rooms, counted)

    def count_rooms(self, counted: Iterable[tuple[str, str, int, int]]) -> None:
        """Record what rooms' people counters said: when they reported, when they saw anyone."""
        newest: dict[tuple[str, str], tuple[int, int | None]] = {}
        for building, room, count, ts in counted:
            reported, occupied = newest.get((building, room), (0, None))
            if count > 0:
                occupied = max(occupied or 0, ts)
            newest[(building, room)] = (max(reported, ts), occupied)
        with self.db.session() as session:
            for (building, code), (reported, occupied) in newest.items():
                room = session.scalar(
                    select(Room).where(Room.building_id == building, Room.code == code)
                )
                if room is None:
                    continue
                row = session.get(RoomSeen, room.id)
                if row is None:
                    session.add(
                        RoomSeen(room_id=room.id, reported_ms=reported, occupied_ms=occupied)
                    )
                    continue
                row.reported_ms = max(row.reported_ms, reported)
                if occupied is not None:
                    row.occupied_ms = max(row.occupied_ms or 0, occupied)

    def apply(self, seen: Iterable[Seen]) -> None:
        """Record presence and check people in; desks' LEDs follow.

        One batch of readings is one transaction: its desks, their live rows and the
        bookings they may check in are read at once, and a desk's LED is recomputed once,
        and only when its occupancy changed or a booking was checked in (the sweep moves
        LEDs along with the clock).
        """
        readings = sorted(seen, key=lambda x: x.ts)
        if not readings:
            return
        with self.db.session() as session:
            desks = _desks(session, {(s.building, s.desk) for s in readings})
            ids = [d.id for d in desks.values()]
            if not ids:
                return
            # Into the session's identity map: live_row and the check-ins below find them.
            session.scalars(select(DeskLive).where(DeskLive.desk_id.in_(ids))).all()
            first, last = readings[0].ts, readings[-1].ts
            waiting: dict[int, list[Booking]] = {}
            for b in session.scalars(
                select(Booking).where(
                    Booking.desk_id.in_(ids),
                    (Booking.state == "booked")
                    | ((Booking.state == "checked_in") & (Booking.presence == "pending")),
                    Booking.start_ms <= last + CHECKIN_OPENS_BEFORE_MS,
                    Booking.end_ms > first,
                )
            ):
                waiting.setdefault(b.desk_id or 0, []).append(b)
            changed: dict[int, Desk] = {}
            moved: set[int] = set()  # desks whose occupancy changed: the maps are told
            for s in readings:
                desk = desks.get((s.building, s.desk))
                if desk is None:
                    continue
                live = live_row(session, desk.id, s.ts)
                if s.ts < live.updated_ms:
                    continue  # an older reading arriving late changes nothing
                if live.occupied != s.occupied:
                    live.since_ms = s.ts
                    changed[desk.id] = desk
                    moved.add(desk.id)
                live.occupied, live.updated_ms, live.device_id = s.occupied, s.ts, s.device
                if s.occupied and self._sensor_check_in(session, desk, s, waiting):
                    changed[desk.id] = desk
            zones: ZoneCache = {}
            for desk in changed.values():
                self.lights.show(session, desk, zones, tell=desk.id in moved)

    def _sensor_check_in(
        self, session: Session, desk: Desk, s: Seen, waiting: dict[int, list[Booking]]
    ) -> bool:
        """Check in the desk's booking whose check-in window holds ``s``; True if one was."""
        policy = policy_for(session, desk.building_id, desk.zone_id)
        grace = policy.checkin_grace_minutes * 60_000
        pending = next(
            (
                b
                for b in waiting.get(desk.id, ())
                if b.state == "checked_in"
                and b.presence == "pending"
                and checkin_open(b.checked_in_ms or 0, b.end_ms, s.ts)
                and s.ts <= confirm_by(b, grace)
            ),
            None,
        )
        if pending is not None:  # checked in by QR or app: the sensor now sees someone
            pending.presence = "sensor"
            record(
                session,
                actor=f"sensor:{s.device}",
                action="booking.confirmed",
                target_kind="booking",
                target_id=str(pending.id),
                via="sensor",
            )
            return False
        booking = next(
            (
                b
                for b in waiting.get(desk.id, ())
                if b.state == "booked"
                and checkin_opens(b.start_ms) <= s.ts
                and s.ts <= deadline(b, grace)
                and s.ts < b.end_ms
            ),
            None,
        )
        if booking is None:
            return False
        booking.state, booking.checked_in_ms, booking.checked_in_by = "checked_in", s.ts, "sensor"
        booking.presence = "sensor"
        record(
            session,
            actor=f"sensor:{s.device}",
            action="booking.check_in",
            target_kind="booking",
            target_id=str(booking.id),
            via="sensor",
        )
        return True

    def settle(self, now: int) -> None:
        """Release no-shows and vacated desks and complete ended bookings, as of ``now``."""
        with self.db.session() as session:
            # A booking not yet begun has nothing to settle (its reminder comes after start).
            begun = Booking.start_ms <= now + self.reminder_ms
            active = select(Booking).where(Booking.state.in_(ACTIVE), begun)
            # Their people in one query (whose agency's rules hold), not one per booking.
            for booking in session.scalars(active.options(selectinload(Booking.owner))):
                self._settle(session, booking, now)

    def sweep(self) -> None:
        """Release no-shows and vacated desks, complete ended bookings, refresh every LED."""
        self.settle(self.now_ms())
        with self.db.session() as session:
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
        owner = booking.owner
        policy = policy_for(session, booking.building_id, zone, owner.agency_id if owner else None)
        live = session.get(DeskLive, desk.id) if desk else None
        if (
            booking.state == "booked"
            and desk is None
            and self._ghost(session, booking, now, policy)
        ):
            grace = policy.checkin_grace_minutes
            why = f"the room's people counter saw nobody within {grace} min"
            self._release(session, booking, now, "no_show", why)
            return
        if booking.state == "booked" and desk is None and now >= booking.end_ms:
            # A room without a people counter: its use is not verified.
            booking.state, booking.outcome = "completed", "unverified"
            return
        if booking.state == "booked":
            grace_ms = policy.checkin_grace_minutes * 60_000
            if desk is not None and now > deadline(booking, grace_ms):
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
        if booking.presence == "pending" and live is not None and live.occupied:
            booking.presence = "sensor"  # someone sat down, and the node said so before
        if booking.presence == "pending" and now > confirm_by(
            booking, policy.checkin_grace_minutes * 60_000
        ):
            booking.presence = "unconfirmed"  # checked in, but the desk's sensor saw nobody
            record(
                session,
                actor="sensors",
                action="booking.unconfirmed",
                target_kind="booking",
                target_id=str(booking.id),
            )
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
            self._release(
                session,
                booking,
                now,
                "released_early",
                f"desk vacant for {policy.release_after_vacant_minutes} min",
            )

    def _ghost(self, session: Session, booking: Booking, now: int, policy: Policy) -> bool:
        """Whether a room booking is a ghost.

        Past its check-in grace, the room's people counter has reported since it began and
        seen nobody since.
        """
        if (
            booking.space_kind != "room"
            or now <= booking.start_ms + policy.checkin_grace_minutes * 60_000
        ):
            return False
        seen = session.scalar(
            select(RoomSeen)
            .join(Room, Room.id == RoomSeen.room_id)
            .where(Room.building_id == booking.building_id, Room.code == booking.space_code)
        )
        return (
            seen is not None
            and seen.reported_ms >= booking.start_ms
            and (seen.occupied_ms or 0) < booking.start_ms
        )

    def _release(
        self, session: Session, booking: Booking, now: int, outcome: str, why: str
    ) -> None:
        booking.state, booking.outcome = "released", outcome
        booking.released_ms, booking.release_reason = now, why
        record(
            session,
            actor="sensors",
            action=f"booking.{outcome}",
            target_kind="booking",
            target_id=str(booking.id),
            reason=why,
        )
        self._mail(session, booking, "released")
        logger.info("booking %d released (%s): %s", booking.id, outcome, why)

    def _mail(self, session: Session, booking: Booking, kind: str) -> None:
        building = session.get(Building, booking.building_id)
        tell(session, booking, kind, zone_of(building))


def confirm_by(booking: Booking, grace_ms: int) -> int:
    """Until when the desk's sensor may confirm a QR or app check-in (the grace period)."""
    return max(booking.start_ms, booking.checked_in_ms or 0) + grace_ms


def _desks(session: Session, codes: set[tuple[str, str]]) -> dict[tuple[str, str], Desk]:
    """The desks of (building, code) pairs, read in one query per building."""
    by_building: dict[str, set[str]] = {}
    for building, code in codes:
        by_building.setdefault(building, set()).add(code)
    found: dict[tuple[str, str], Desk] = {}
    for building, wanted in by_building.items():
        for desk in session.scalars(
            select(Desk).where(Desk.building_id == building, Desk.code.in_(wanted))
        ):
            found[(building, desk.code)] = desk
    return found
