"""Each desk's state as its LED and the floor maps show it.

Free, booked, awaiting check-in, occupied, or off outside working hours.
A new state is queued, retained, for the desk's node through its gateway (only the newest
waits), and sent to the live maps as an event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.payloads import DeskState, LedState
from server.bookings.models import ACTIVE, Booking, DeskLive
from server.bookings.schemas import DeskLiveState
from server.calendar.dates import checkin_opens, from_ms, to_ms
from server.calendar.hours import WorkingHours, zone_of
from server.calendar.policy import policy_for
from server.db import Database, insert_unless_present
from server.effects import announce, wake
from server.registry.models import Device, Downlink
from server.spaces.models import Building, Desk, Floor
from server.spaces.service import get_floor

# (building, zone id) -> (time zone, open now): what every desk of a zone shares.
ZoneCache = dict[tuple[str, int], tuple[ZoneInfo, bool]]
# A desired state waits for its gateway at most this long; a newer one replaces it anyway.
STATE_TTL_MS = 3_600_000


def state(session: Session, desk: Desk, now: int, zones: ZoneCache | None = None) -> LedState:
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
    if any(checkin_opens(b.start_ms) <= now for b in current):
        return "awaiting_checkin"
    end_of_day = from_ms(now, tz).replace(hour=23, minute=59)
    if any(b.start_ms <= to_ms(end_of_day) for b in current):
        return "booked"
    return "free"


def show(
    session: Session, desk: Desk, now: int, zones: ZoneCache | None = None, *, tell: bool = False
) -> None:
    """Recompute the desk's state at ``now``; a change is queued for its nodes.

    The new state is written in this transaction; the gateways are woken and the maps told
    once it commits (server.effects). ``tell``: the maps are told even when the LED stays
    as it was (a booking for another day, a sensor outside opening hours).
    """
    new = state(session, desk, now, zones)
    live = live_row(session, desk.id, now)
    if live.led == new:
        if tell:
            _tell(session, desk, live, now)
        return
    live.led, live.led_since_ms = new, now
    _tell(session, desk, live, now)
    payload = DeskState(v=1, state=new, since=now).model_dump_json()
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
        wake(session, device.gateway_id)


class DeskLights:
    """Each desk's state at a clock: for one desk, a floor, or after a change."""

    def __init__(self, *, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def now_ms(self) -> int:
        """The clock in epoch milliseconds."""
        return int(self.clock() * 1000)

    def show(
        self, session: Session, desk: Desk, zones: ZoneCache | None = None, *, tell: bool = False
    ) -> None:
        """:func:`show` at this object's clock."""
        show(session, desk, self.now_ms(), zones, tell=tell)

    def state_now(self, desk_code: str, building: str | None = None) -> LedState:
        """One desk's state at the monitor's time (for tools and tests)."""
        with self.db.session(commit=False) as session:
            query = select(Desk).where(Desk.code == desk_code)
            if building is not None:
                query = query.where(Desk.building_id == building)
            desk = session.scalars(query).one()
            return state(session, desk, self.now_ms())

    def refresh(self, building: str, desk_code: str) -> None:
        """Recompute one desk's LED now (after a booking, cancel, check-in or check-out)."""
        with self.db.session() as session:
            desk = session.scalar(
                select(Desk).where(Desk.building_id == building, Desk.code == desk_code)
            )
            if desk is not None:
                self.show(session, desk)

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
                        state=state(session, desk, now, zones),
                        occupied=bool(live and live.occupied),
                        since=from_ms(since, tz) if since else None,
                    )
                )
            return out


def _tell(
    session: Session, desk: Desk, live: DeskLive, now: int, floor_code: str | None = None
) -> None:
    """The live maps learn that the desk changed (never who booked or sits there)."""
    if floor_code is None:
        floor = session.get(Floor, desk.floor_id)
        floor_code = floor.code if floor else None
    announce(
        session,
        {
            "type": "desk",
            "building": desk.building_id,
            "floor": floor_code,
            "desk": desk.code,
            "state": live.led,
            "occupied": live.occupied,
            "at": now,
        },
    )


def tell_many(session: Session, desks: list[Desk], now: int) -> None:
    """The maps learn of bookings of ``desks`` for another day (their LEDs stay as they are).

    As :func:`show` with ``tell``, for many desks at once; a desk never shown yet (no live
    row) is told with no state, as it has none.
    """
    lives, floors = read_live(session, desks)
    for desk in desks:
        live = lives.get(desk.id) or DeskLive(desk_id=desk.id, occupied=False, led=None)
        floor = floors.get(desk.floor_id)
        _tell(session, desk, live, now, floor.code if floor else None)


def read_live(session: Session, desks: list[Desk]) -> tuple[dict[int, DeskLive], dict[int, Floor]]:
    """The desks' live rows and floors, read at once (by desk id, by floor id).

    While the caller holds them, the session finds them without asking the database.
    """
    ids = {d.id for d in desks}
    # By building, not by a list of thousands of ids the database would have to be sent.
    within = select(Desk.id).where(Desk.building_id.in_({d.building_id for d in desks}))
    lives = {
        live.desk_id: live
        for live in session.scalars(select(DeskLive).where(DeskLive.desk_id.in_(within)))
        if live.desk_id in ids
    }
    floors = {
        f.id: f
        for f in session.scalars(select(Floor).where(Floor.id.in_({d.floor_id for d in desks})))
    }
    return lives, floors


def live_row(session: Session, desk_id: int, now: int) -> DeskLive:
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
