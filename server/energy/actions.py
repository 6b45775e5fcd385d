"""Occupancy-driven HVAC and lighting modes per zone, with the reason for each.

For every zone, from the live desk sensors, people counters and bookings:

1. someone is there (a desk occupied, a room counting people or checked in): ``normal``;
2. the zone emptied less than ``vacancy_minutes`` ago: ``normal`` (people come back);
3. a booking of the zone is under way (not yet checked in, within its grace): ``normal``;
4. a booked arrival is less than ``precondition_minutes`` away: ``normal`` (pre-conditioning;
   lighting gets 5 minutes); before opening, the same for a zone whose people plan to come
   today without a booking (``planned``, from the work plans' forecast), while a zone
   nobody booked or plans to come to starts the day ``setback``: its command is out before
   the opening;
5. within working hours, nobody and nothing booked soon: ``setback``;
6. otherwise (closed: after hours, weekends, holidays): ``off``.

Lighting differs in two places: a booking not yet arrived gets ``setback`` (dimmed), and an
empty zone in working hours gets ``off``. A decision that changes is recorded (so the API
and the savings estimate see each zone's modes over time) and, with actions set to
``command``, queued as a retained ZoneCommand for the building's gateway, which publishes it
on ``{base}/v1/zone/{zone}/down/{hvac|lighting}``. An unchanged command is sent again at half
its validity, so a building-management system that stops hearing it falls back to its own
schedule only when the platform is really gone.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from contracts.payloads import ZoneCommand, ZoneMode, ZoneReason
from server.bookings.models import ACTIVE, Booking, DeskLive
from server.calendar.dates import from_ms, to_ms
from server.calendar.hours import WorkingHours
from server.energy.models import ZoneAction
from server.registry.models import Device, Downlink, Gateway
from server.spaces.models import Desk, Floor, Room, Zone

Channel = Literal["hvac", "lighting"]
LIGHTING_LEAD_MS = 5 * 60_000
LOOKAHEAD_MS = 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class ActionConfig:
    """How zones are run; from the server settings."""

    mode: Literal["off", "advise", "command"] = "advise"
    precondition_minutes: int = 30
    vacancy_minutes: int = 15
    standby_minutes: int = 5
    """ASHRAE Guideline 36 occupied-standby: a zone unpopulated this long in occupied mode..."""
    standby_offset_k: float = 0.5
    """... has its cooling setpoint raised by this much (until set back, or people return)."""
    normal_setpoint_c: float = 24.0
    setback_setpoint_c: float = 27.0
    setback_lighting_pct: int = 30
    valid_minutes: int = 15


@dataclass
class ZoneFacts:
    """What is known about one zone now."""

    building: str
    floor: str
    zone: str
    zone_id: int
    occupied: int = 0
    vacant_since: int | None = None
    in_progress: list[tuple[int, int]] = field(default_factory=list)
    upcoming: list[int] = field(default_factory=list)
    planned: float = 0.0
    """People whose work plan says office today, without a desk booked (the forecast)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A zone's mode for one channel, and why."""

    building: str
    floor: str
    zone: str
    channel: Channel
    mode: ZoneMode
    reason_code: ZoneReason
    reason: str
    next_mode: ZoneMode | None = None
    next_at: int | None = None


def setpoint_of(cfg: ActionConfig, d: Decision) -> float | None:
    """The cooling setpoint of an HVAC decision (None when the zone is off)."""
    if d.mode == "setback":
        return cfg.setback_setpoint_c
    if d.mode == "normal":
        offset = cfg.standby_offset_k if d.reason_code == "standby" else 0.0
        return cfg.normal_setpoint_c + offset
    return None


def _hhmm(ms: int, hours: WorkingHours) -> str:
    return from_ms(ms, hours.tz).strftime("%H:%M")


def decide(
    f: ZoneFacts, channel: Channel, now: int, hours: WorkingHours, cfg: ActionConfig
) -> Decision:
    """The mode of one zone's HVAC or lighting at ``now``."""
    lead = cfg.precondition_minutes * 60_000 if channel == "hvac" else LIGHTING_LEAD_MS
    upcoming = sorted(t for t in f.upcoming if t > now)
    nxt = upcoming[0] if upcoming else None

    def made(mode: ZoneMode, code: ZoneReason, id_: str, en: str) -> Decision:
        later: tuple[ZoneMode | None, int | None] = (None, None)
        if mode != "normal" and nxt is not None:
            later = ("normal", max(now, nxt - lead))
        return Decision(f.building, f.floor, f.zone, channel, mode, code, f"{id_} / {en}", *later)

    if f.occupied:
        return made(
            "normal",
            "occupied",
            f"{f.occupied} meja/ruang terisi",
            f"{f.occupied} desk(s) or room(s) in use",
        )
    if f.vacant_since is not None and now - f.vacant_since < cfg.vacancy_minutes * 60_000:
        minutes = (now - f.vacant_since) // 60_000
        if channel == "hvac" and minutes >= cfg.standby_minutes:
            # ASHRAE Guideline 36's occupied-standby: unpopulated for a few minutes in
            # occupied hours, the setpoints relax a little until people come back.
            return made(
                "normal",
                "standby",
                f"Siaga: kosong {minutes} menit, setelan +{cfg.standby_offset_k} K",
                f"Standby: empty for {minutes} min, setpoint +{cfg.standby_offset_k} K",
            )
        return made(
            "normal",
            "vacancy_grace",
            f"Kosong baru {minutes} menit",
            f"Empty for only {minutes} min",
        )
    if f.in_progress:
        until = _hhmm(max(e for _, e in f.in_progress), hours)
        mode: ZoneMode = "normal" if channel == "hvac" else "setback"
        return made(
            mode,
            "booked",
            f"Ada pemesanan berjalan sampai {until}, belum hadir",
            f"Booked until {until}, not arrived yet",
        )
    if nxt is not None and nxt - lead <= now:
        at = _hhmm(nxt, hours)
        return made(
            "normal",
            "preconditioning",
            f"Pra-kondisi untuk kedatangan pukul {at}",
            f"Pre-conditioning for a booked arrival at {at}",
        )
    day = hours.day(from_ms(now, hours.tz).date())
    opens, closes = (to_ms(day[0]), to_ms(day[1])) if isinstance(day, tuple) else (None, None)
    if channel == "hvac" and opens is not None and opens - lead <= now < opens:
        # The day ahead, decided before opening from bookings and work plans.
        if f.planned > 0:
            n = math.ceil(f.planned)
            return made(
                "normal",
                "preconditioning",
                f"Pra-kondisi: {n} orang berencana datang",
                f"Pre-conditioning: {n} people plan to come",
            )
        if nxt is None or (closes is not None and nxt >= closes):
            return made(
                "setback",
                "vacant",
                "Tidak ada yang memesan atau berencana datang hari ini",
                "Nobody booked or plans to come today",
            )
    if hours.is_open(now):
        until = f"sampai {_hhmm(nxt, hours)}" if nxt else "hari ini"
        until_en = f"until {_hhmm(nxt, hours)}" if nxt else "today"
        mode = "setback" if channel == "hvac" else "off"
        return made(
            mode,
            "vacant",
            f"Jam kerja, kosong, tidak ada pemesanan {until}",
            f"Open hours, empty, no booking {until_en}",
        )
    if isinstance(day, str):
        return made("off", "closed", f"Tutup: {day}", f"Closed: {day}")
    span = f"{day[0]:%H:%M}-{day[1]:%H:%M}"
    return made("off", "closed", f"Di luar jam kerja ({span})", f"Outside working hours ({span})")


def zone_facts(
    session: Session, building: str, now: int, rooms_in_use: set[str]
) -> dict[tuple[Channel, str], ZoneFacts]:
    """Facts for every HVAC zone and every lighting zone of a building.

    ``rooms_in_use``: codes of rooms whose people counter saw someone recently.
    """
    zones = {z.id: z for z in session.scalars(select(Zone).where(Zone.building_id == building))}
    floors = dict(
        session.execute(select(Floor.id, Floor.code).where(Floor.building_id == building)).all()
    )
    facts: dict[tuple[Channel, str], ZoneFacts] = {}

    def of(channel: Channel, zone_id: int) -> ZoneFacts:
        z = zones[zone_id]
        key = (channel, z.code)
        if key not in facts:
            facts[key] = ZoneFacts(building, floors[z.floor_id], z.code, z.id)
        return facts[key]

    for z in zones.values():
        if z.kind == "hvac":
            of("hvac", z.id)
        elif z.kind == "lighting":
            of("lighting", z.id)
    live = {
        row.desk_id: row
        for row in session.scalars(
            select(DeskLive)
            .join(Desk, Desk.id == DeskLive.desk_id)
            .where(Desk.building_id == building)
        )
    }
    members: dict[tuple[str, int], list[ZoneFacts]] = defaultdict(list)
    for kind, model in (("desk", Desk), ("room", Room)):
        for id_, code, zone_id, light_id in session.execute(
            select(model.id, model.code, model.zone_id, model.lighting_zone_id).where(
                model.building_id == building
            )
        ):
            targets = [of("hvac", zone_id), of("lighting", light_id or zone_id)]
            members[(kind, id_)] = targets
            row = live.get(id_) if kind == "desk" else None
            busy = bool(row and row.occupied) or (kind == "room" and code in rooms_in_use)
            for f in targets:
                if busy:
                    f.occupied += 1
                elif row is not None and not row.occupied:
                    f.vacant_since = max(f.vacant_since or 0, row.since_ms)
    bookings = session.execute(
        select(
            Booking.desk_id,
            Booking.room_id,
            Booking.start_ms,
            Booking.end_ms,
            Booking.checked_in_ms,
        ).where(
            Booking.building_id == building,
            Booking.state.in_(ACTIVE),
            Booking.start_ms < now + LOOKAHEAD_MS,
            Booking.end_ms > now,
        )
    )
    for desk_id, room_id, start, end, checked_in in bookings:
        if desk_id is not None:
            key = ("desk", desk_id)
        elif room_id is not None:
            key = ("room", room_id)
        else:
            continue  # its desk or room was removed from the layout
        for f in members.get(key, []):
            if start <= now:
                if checked_in is not None and key[0] == "room":
                    f.occupied += 1  # a meeting room has no sensor of its own
                else:
                    f.in_progress.append((start, end))
            else:
                f.upcoming.append(start)
    return facts


def building_gateway(session: Session, building: str) -> str | None:
    """The gateway that publishes a building's zone commands.

    The building's own, else the one serving most of its devices.
    """
    gw = session.scalar(
        select(Gateway.id)
        .where(Gateway.building == building, Gateway.revoked_ms.is_(None))
        .order_by(Gateway.id)
    )
    if gw is not None:
        return gw
    return session.scalar(
        select(Device.gateway_id)
        .where(
            Device.building == building,
            Device.gateway_id.is_not(None),
            Device.decommissioned_ms.is_(None),
        )
        .group_by(Device.gateway_id)
        .order_by(func.count().desc(), Device.gateway_id)
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation of a building's zones."""

    decisions: list[Decision]
    changed: list[Decision]
    wake: set[str]


@dataclass
class ZoneActions:
    """Evaluates every zone and records, and sends, what changed."""

    cfg: ActionConfig
    clock: Callable[[], float] = time.time

    def now_ms(self) -> int:
        """The clock in epoch ms."""
        return int(self.clock() * 1000)

    def evaluate(
        self, session: Session, building: str, facts: dict[tuple[Channel, str], ZoneFacts]
    ) -> Evaluation:
        """Decide every zone of ``building``; which decisions changed, and gateways to wake.

        ``facts``: from :func:`zone_facts` at this instance's clock.
        """
        if self.cfg.mode == "off":
            return Evaluation([], [], set())
        now = self.now_ms()
        hours_by_zone: dict[int, WorkingHours] = {}
        decisions = []
        for (channel, _), f in sorted(facts.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if f.zone_id not in hours_by_zone:
                hours_by_zone[f.zone_id] = WorkingHours.of(session, building, f.zone_id)
            decisions.append(decide(f, channel, now, hours_by_zone[f.zone_id], self.cfg))
        current = {
            (a.zone, a.channel): a
            for a in session.scalars(
                select(ZoneAction).where(
                    ZoneAction.building_id == building, ZoneAction.end_ms.is_(None)
                )
            )
        }
        command = self.cfg.mode == "command"
        gateway = building_gateway(session, building) if command else None
        valid_ms = self.cfg.valid_minutes * 60_000
        wake: set[str] = set()
        changed: list[Decision] = []
        for d in decisions:
            row = current.get((d.zone, d.channel))
            if row is not None and (row.mode, row.reason_code) == (d.mode, d.reason_code):
                row.reason, row.next_mode, row.next_at_ms = d.reason, d.next_mode, d.next_at
                stale = command and (row.published_ms or 0) < now - valid_ms // 2
                if not stale:
                    continue
            else:
                changed.append(d)
                if row is not None:
                    row.end_ms = now
                row = ZoneAction(
                    building_id=d.building,
                    floor=d.floor,
                    zone=d.zone,
                    channel=d.channel,
                    mode=d.mode,
                    reason_code=d.reason_code,
                    reason=d.reason,
                    start_ms=now,
                    published=command,
                    next_mode=d.next_mode,
                    next_at_ms=d.next_at,
                )
                session.add(row)
            if gateway is not None:
                self._queue(session, gateway, d, since=row.start_ms, now=now, valid_ms=valid_ms)
                row.published_ms = now
                wake.add(gateway)
        return Evaluation(decisions, changed, wake)

    def _queue(
        self, session: Session, gateway: str, d: Decision, *, since: int, now: int, valid_ms: int
    ) -> None:
        cfg = self.cfg
        level = {"normal": 100, "setback": cfg.setback_lighting_pct, "off": 0}
        payload = ZoneCommand(
            v=1,
            building=d.building,
            floor=d.floor,
            zone=d.zone,
            channel=d.channel,
            mode=d.mode,
            reason_code=d.reason_code,
            reason=d.reason,
            since=since,
            valid_until=now + valid_ms,
            setpoint_c=setpoint_of(cfg, d) if d.channel == "hvac" else None,
            level_pct=level[d.mode] if d.channel == "lighting" else None,
            next_mode=d.next_mode,
            next_at=d.next_at,
        )
        # Only the newest command matters: an older one not yet sent is dropped.
        session.execute(
            delete(Downlink).where(
                Downlink.zone == d.zone,
                Downlink.channel == d.channel,
                Downlink.gateway_id == gateway,
                Downlink.sent_ms.is_(None),
            )
        )
        session.add(
            Downlink(
                gateway_id=gateway,
                device_id=None,
                zone=d.zone,
                channel=d.channel,
                payload=payload.model_dump_json(),
                retain=True,
                created_ms=now,
                expires_ms=now + valid_ms,
            )
        )


def as_public(a: ZoneAction) -> dict[str, Any]:
    """A recorded decision as the API shows it."""
    return {
        "building": a.building_id,
        "floor": a.floor,
        "zone": a.zone,
        "channel": a.channel,
        "mode": a.mode,
        "reason_code": a.reason_code,
        "reason": a.reason,
        "start_ms": a.start_ms,
        "end_ms": a.end_ms,
        "published": a.published,
        "next_mode": a.next_mode,
        "next_at_ms": a.next_at_ms,
    }


def recorded_actions(
    session: Session, *, building: str, floor: str | None, zone: str | None, since_ms: int | None
) -> tuple[list[ZoneAction], list[ZoneAction]]:
    """The decisions in force now, and (with ``since_ms``) those that ended since then."""
    q = select(ZoneAction).where(ZoneAction.building_id == building)
    if floor:
        q = q.where(ZoneAction.floor == floor)
    if zone:
        q = q.where(ZoneAction.zone == zone)
    current = list(
        session.scalars(
            q.where(ZoneAction.end_ms.is_(None)).order_by(ZoneAction.zone, ZoneAction.channel)
        )
    )
    past: list[ZoneAction] = []
    if since_ms is not None:
        past = list(
            session.scalars(
                q.where(ZoneAction.end_ms > since_ms)
                .order_by(ZoneAction.start_ms, ZoneAction.id)
                .limit(10_000)
            )
        )
    return current, past
