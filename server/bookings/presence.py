"""The sensors keep bookings honest, and each desk's LED shows what the desk is doing.

- A desk node reporting someone within a booking's check-in window (15 minutes before
  the start until the grace period after it) checks the booking in ("sensor").
- A booking nobody checked into by the end of the grace period is released: no-show.
- A checked-in desk vacant for the policy's ``release_after_vacant_minutes`` is released
  early; the booking keeps its record (outcome ``released_early``).
- A checked-in booking whose time is over is completed (``attended``).
- Presence at a desk with no booking shows it occupied (a walk-in), so the map never shows
  an occupied desk as free.
- The LED state (free, booked, awaiting_checkin, occupied, off) is recomputed whenever any
  of this changes and sent, retained, to the desk's node through its gateway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from contracts.payloads import DeskState
from contracts.registry import SpaceRef
from server.audit.service import record
from server.bookings.mail import queue_for
from server.bookings.models import ACTIVE, FINISHED, Booking, DeskLive
from server.bookings.schemas import DeskLiveState, LedState
from server.calendar.dates import CHECKIN_OPENS_BEFORE_MS, from_ms, to_ms
from server.calendar.hours import WorkingHours, zone_of
from server.calendar.policy import policy_for
from server.db import Database, insert_unless_present
from server.readings.store import StoredReading
from server.registry.downlink import Notifier
from server.registry.models import Device, Downlink
from server.spaces.models import Building, Desk, Floor
from server.spaces.service import get_floor, space_ref

logger = logging.getLogger(__name__)
# (building, zone id) -> (time zone, open now): what every desk of a zone shares.
ZoneCache = dict[tuple[str, int], tuple[ZoneInfo, bool]]
# A desired state waits for its gateway at most this long; a newer one replaces it anyway.
STATE_TTL_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Seen:
    """One presence reading of a desk node."""

    building: str
    desk: str
    device: str
    occupied: bool
    ts: int


class DeskMonitor:
    """Applies presence to bookings and keeps each desk's LED state current."""

    def __init__(
        self,
        *,
        db: Database,
        notifier: Notifier,
        clock: Callable[[], float] = time.time,
        events: Callable[[dict[str, Any]], None] | None = None,
        mail: bool = False,
        reminder_minutes: int = 5,
    ) -> None:
        self.mail = mail
        self.reminder_ms = reminder_minutes * 60_000
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.events = events

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
            gateways = await asyncio.to_thread(self.apply, seen)
            for gateway in gateways:
                self.notifier.notify(gateway)

    def apply(self, seen: Iterable[Seen]) -> set[str]:
        """Record presence, check people in; returns the gateways that have new LED states."""
        gateways: set[str] = set()
        with self.db.session() as session:
            for s in sorted(seen, key=lambda x: x.ts):
                desk = session.scalar(
                    select(Desk).where(Desk.building_id == s.building, Desk.code == s.desk)
                )
                if desk is None:
                    continue
                live = _live(session, desk.id, s.ts)
                if s.ts < live.updated_ms:
                    continue  # an older reading arriving late changes nothing
                if live.occupied != s.occupied:
                    live.since_ms = s.ts
                live.occupied, live.updated_ms, live.device_id = s.occupied, s.ts, s.device
                if s.occupied:
                    self._sensor_check_in(session, desk, s)
                gateways |= self._led(session, desk)
        return gateways

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

    def sweep(self) -> set[str]:
        """Release no-shows and vacated desks, complete ended bookings, refresh every LED."""
        now = self.now_ms()
        gateways: set[str] = set()
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
                gateways |= self._led(session, desk, zones)
        return gateways

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

    def outcomes(self, limit: int = 1000) -> tuple[list[StoredReading], list[int]]:
        """Finished bookings not yet in the reading store, as "booking" stream points."""
        points, ids = [], []
        with self.db.session(commit=False) as session:
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

    def mark_exported(self, ids: list[int]) -> None:
        """Note that these bookings' outcomes are in the reading store."""
        if ids:
            with self.db.session() as session:
                session.execute(
                    update(Booking).where(Booking.id.in_(ids)).values(exported_ms=self.now_ms())
                )

    def _mail(self, session: Session, booking: Booking, kind: str) -> None:
        if self.mail:
            building = session.get(Building, booking.building_id)
            queue_for(session, booking, kind, zone_of(building))

    def desk_state(
        self, session: Session, desk: Desk, now: int, zones: ZoneCache | None = None
    ) -> LedState:
        """What the desk is doing now, as its LED shows it.

        ``zones`` keeps each zone's time zone and opening state for a pass over many desks.
        """
        key = (desk.building_id, desk.zone_id)
        zones = {} if zones is None else zones
        if key not in zones:
            building = session.get(Building, desk.building_id)
            tz = zone_of(building)
            policy = policy_for(session, desk.building_id, desk.zone_id)
            zones[key] = (tz, WorkingHours(session, desk.building_id, tz, policy).is_open(now))
        tz, is_open = zones[key]
        if not is_open:
            return "off"
        live = session.get(DeskLive, desk.id)
        current = session.scalars(
            select(Booking)
            .where(Booking.desk_id == desk.id, Booking.state.in_(ACTIVE), Booking.end_ms > now)
            .order_by(Booking.start_ms)
        ).all()
        if (live is not None and live.occupied) or any(b.state == "checked_in" for b in current):
            return "occupied"
        if any(b.start_ms - CHECKIN_OPENS_BEFORE_MS <= now for b in current):
            return "awaiting_checkin"
        end_of_day = from_ms(now, tz).replace(hour=23, minute=59)
        if any(b.start_ms <= to_ms(end_of_day) for b in current):
            return "booked"
        return "free"

    def _led(self, session: Session, desk: Desk, zones: ZoneCache | None = None) -> set[str]:
        now = self.now_ms()
        state = self.desk_state(session, desk, now, zones)
        live = _live(session, desk.id, now)
        if live.led == state:
            return set()
        live.led, live.led_since_ms = state, now
        if self.events is not None:
            floor = session.get(Floor, desk.floor_id)
            self.events({
                "type": "desk", "building": desk.building_id,
                "floor": floor.code if floor else None, "desk": desk.code, "state": state,
                "occupied": live.occupied, "at": now,
            })  # fmt: skip
        payload = DeskState(v=1, state=state, since=now).model_dump_json()
        gateways = set()
        devices = session.scalars(
            select(Device).where(
                Device.building == desk.building_id,
                Device.space == desk.code,
                Device.space_kind == "desk",
                Device.decommissioned_ms.is_(None),
                Device.gateway_id.is_not(None),
            )
        )
        for device in devices:
            assert device.gateway_id is not None
            # Only the newest desired state matters: an older one not yet sent is dropped.
            for old in session.scalars(
                select(Downlink).where(
                    Downlink.device_id == device.id,
                    Downlink.channel == "state",
                    Downlink.sent_ms.is_(None),
                )
            ):
                session.delete(old)
            session.add(
                Downlink(
                    gateway_id=device.gateway_id,
                    device_id=device.id,
                    channel="state",
                    payload=payload,
                    retain=True,
                    created_ms=now,
                    expires_ms=now + STATE_TTL_MS,
                )
            )
            gateways.add(device.gateway_id)
        return gateways

    def desk_state_now(self, desk_code: str, building: str | None = None) -> LedState:
        """One desk's state at the monitor's time (for tools and tests)."""
        with self.db.session(commit=False) as session:
            query = select(Desk).where(Desk.code == desk_code)
            if building is not None:
                query = query.where(Desk.building_id == building)
            desk = session.scalars(query).one()
            return self.desk_state(session, desk, self.now_ms())

    def refresh(self, building: str, desk_code: str) -> None:
        """Recompute one desk's LED now (after a booking, cancel, check-in or check-out)."""
        with self.db.session() as session:
            desk = session.scalar(
                select(Desk).where(Desk.building_id == building, Desk.code == desk_code)
            )
            gateways = self._led(session, desk) if desk else set()
        for gateway in gateways:
            self.notifier.notify(gateway)

    def floor(self, building: str, floor_code: str) -> list[DeskLiveState]:
        """Every desk of a floor now."""
        now = self.now_ms()
        with self.db.session(commit=False) as session:
            floor = get_floor(session, building, floor_code)
            b = session.get(Building, building)
            tz = zone_of(b)
            out = []
            zones: ZoneCache = {}
            for desk in session.scalars(
                select(Desk).where(Desk.floor_id == floor.id).order_by(Desk.code)
            ):
                live = session.get(DeskLive, desk.id)
                since = live.since_ms if live and live.updated_ms else None
                out.append(
                    DeskLiveState(
                        id=desk.code,
                        state=self.desk_state(session, desk, now, zones),
                        occupied=bool(live and live.occupied),
                        since=from_ms(since, tz) if since else None,
                    )
                )
            return out


def _live(session: Session, desk_id: int, now: int) -> DeskLive:
    """The desk's live row, created if missing (safely when two requests race to it)."""
    live = session.get(DeskLive, desk_id)
    if live is None:
        session.execute(
            insert_unless_present(session, DeskLive).values(
                desk_id=desk_id, occupied=False, since_ms=now, updated_ms=0
            )
        )
        live = session.get(DeskLive, desk_id)
        assert live is not None
    return live
