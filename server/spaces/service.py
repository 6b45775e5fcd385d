"""Make the database match a layout document, and read layouts back for the API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.agencies import service as agencies
from server.db import Base
from server.exceptions import LayoutError, NotFoundError
from server.i18n import T
from server.spaces.models import Building, Desk, Floor, Room, Zone
from server.spaces.schemas import (
    BuildingPublic,
    DeskDoc,
    DeskPublic,
    FloorPublic,
    FloorSummary,
    LayoutChanges,
    LayoutDoc,
    RoomDoc,
    RoomPublic,
    ZonePublic,
)

KINDS = ("building", "floors", "zones", "desks", "rooms")
Plan = tuple[bytes, str]
R = TypeVar("R", bound=Base)


def check_references(doc: LayoutDoc) -> None:
    """Codes are unique in the building and every zone a desk or room names exists."""
    seen: dict[str, str] = {}
    for f, floor in enumerate(doc.floors):
        where = f"floors.{f}"
        _unique(seen, floor.id, where)
        zones = {z.id: z for z in floor.zones}
        for z, zone in enumerate(floor.zones):
            _unique(seen, zone.id, f"{where}.zones.{z}")
        places: list[tuple[str, DeskDoc | RoomDoc]] = [
            *((f"{where}.desks.{i}", d) for i, d in enumerate(floor.desks)),
            *((f"{where}.rooms.{i}", r) for i, r in enumerate(floor.rooms)),
        ]
        for at, item in places:
            _unique(seen, item.id, at)
            refs = [("zone", item.zone, "hvac"), ("lighting_zone", item.lighting_zone, "lighting")]
            if isinstance(item, DeskDoc):
                refs.append(("neighbourhood", item.neighbourhood, "neighbourhood"))
            for field, code, want in refs:
                if code is None:
                    continue
                target = zones.get(code)
                if target is None:
                    raise LayoutError(
                        f"{at}.{field}: zone {code!r} is not a zone of floor {floor.id!r}"
                    )
                if target.kind != want:
                    raise LayoutError(
                        f"{at}.{field}: zone {code!r} is a {target.kind} zone, not {want}"
                    )


def _unique(seen: dict[str, str], code: str, where: str) -> None:
    if code in seen:
        raise LayoutError(f"{where}.id: {code!r} is already used at {seen[code]}")
    seen[code] = where


class _Sync:
    """Counts while rows of one kind are created, updated or left alone."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.counts: dict[str, dict[str, int]] = {
            k: dict.fromkeys(KINDS, 0) for k in ("created", "updated", "removed", "unchanged")
        }

    def upsert(self, kind: str, row: R | None, model: type[R], values: dict[str, Any]) -> R:
        if row is None:
            row = model(**values)
            self.session.add(row)
            self.session.flush()
            self.counts["created"][kind] += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            self.counts["updated"][kind] += 1
        else:
            self.counts["unchanged"][kind] += 1
        return row

    def remove(self, kind: str, rows: Iterable[Base]) -> None:
        for row in rows:
            self.session.delete(row)
            self.counts["removed"][kind] += 1
        self.session.flush()


def sync_layout(
    session: Session,
    doc: LayoutDoc,
    *,
    plans: dict[str, Plan] | None = None,
    before_removing: Callable[[str, set[str]], None],
) -> LayoutChanges:
    """Create, update or remove what differs from ``doc``; an equal document changes nothing.

    ``plans`` maps floor codes to plan files; floors without one keep the plan they have.
    Desks and rooms the document no longer has are removed, once ``before_removing``
    (building, their codes) has returned; it raises to refuse. Use
    ``server.registry.layout.import_layout``, which refuses to remove a space a device is
    assigned to and moves devices' tags with their spaces.
    """
    check_references(doc)
    b = doc.building
    sync = _Sync(session)
    sync.upsert(
        "building",
        session.get(Building, b.id),
        Building,
        {"id": b.id, "name": b.name, "address": b.address, "timezone": b.timezone},
    )
    floors = {r.code: r for r in _rows(session, Floor, b.id)}
    zones = {r.code: r for r in _rows(session, Zone, b.id)}
    desks = {r.code: r for r in _rows(session, Desk, b.id)}
    rooms = {r.code: r for r in _rows(session, Room, b.id)}
    wanted_desks = {d.id for f in doc.floors for d in f.desks}
    wanted_rooms = {r.id for f in doc.floors for r in f.rooms}
    before_removing(b.id, (set(desks) - wanted_desks) | (set(rooms) - wanted_rooms))
    sync.remove("desks", [r for c, r in desks.items() if c not in wanted_desks])
    sync.remove("rooms", [r for c, r in rooms.items() if c not in wanted_rooms])
    wanted_zones = {z.id for f in doc.floors for z in f.zones}
    sync.remove("zones", [r for c, r in zones.items() if c not in wanted_zones])
    sync.remove("floors", [r for c, r in floors.items() if c not in {f.id for f in doc.floors}])

    for fd in doc.floors:
        values: dict[str, Any] = {
            "building_id": b.id,
            "code": fd.id,
            "name": fd.name,
            "level": fd.level,
            "width": fd.width,
            "height": fd.height,
            "agency_id": agencies.known(session, fd.agency),
        }
        if plans is not None and fd.id in plans:
            values["plan"], values["plan_type"] = plans[fd.id]
        floor = sync.upsert("floors", floors.get(fd.id), Floor, values)
        zone_ids: dict[str, int] = {}
        for zd in fd.zones:
            zone = sync.upsert(
                "zones",
                zones.get(zd.id),
                Zone,
                {
                    "building_id": b.id,
                    "floor_id": floor.id,
                    "code": zd.id,
                    "name": zd.name,
                    "kind": zd.kind,
                    "team": zd.team,
                },
            )
            zone_ids[zd.id] = zone.id
        for dd in fd.desks:
            sync.upsert(
                "desks",
                desks.get(dd.id),
                Desk,
                {
                    "building_id": b.id,
                    "floor_id": floor.id,
                    "code": dd.id,
                    "name": dd.name or dd.id,
                    "zone_id": zone_ids[dd.zone],
                    "lighting_zone_id": zone_ids.get(dd.lighting_zone or ""),
                    "neighbourhood_id": zone_ids.get(dd.neighbourhood or ""),
                    **dd.model_dump(include={"x", "y", "monitor", "standing", "accessible"}),
                    **dd.model_dump(include={"quiet", "bookable"}),
                },
            )
        for rd in fd.rooms:
            sync.upsert(
                "rooms",
                rooms.get(rd.id),
                Room,
                {
                    "building_id": b.id,
                    "floor_id": floor.id,
                    "code": rd.id,
                    "name": rd.name,
                    "zone_id": zone_ids[rd.zone],
                    "lighting_zone_id": zone_ids.get(rd.lighting_zone or ""),
                    **rd.model_dump(include={"capacity", "x", "y", "width", "height", "bookable"}),
                },
            )
    session.flush()
    return LayoutChanges(building=b.id, **sync.counts)


def _rows(session: Session, model: type[R], building: str) -> list[R]:
    return list(session.scalars(select(model).where(model.building_id == building)))  # type: ignore[attr-defined]


def space_ref(session: Session, building: str, code: str) -> dict[str, str] | None:
    """The tags of a desk or room (building, floor, zone, space, space_kind), or None."""
    for model, kind in ((Desk, "desk"), (Room, "room")):
        row = session.execute(
            select(Floor.code, Zone.code)
            .select_from(model)
            .join(Floor, Floor.id == model.floor_id)
            .join(Zone, Zone.id == model.zone_id)
            .where(model.building_id == building, model.code == code)
        ).first()
        if row is not None:
            return {
                "building": building,
                "floor": row[0],
                "zone": row[1],
                "space": code,
                "space_kind": kind,
            }
    return None


def buildings(session: Session) -> list[BuildingPublic]:
    """Every building with a summary of its floors."""
    return [
        building(session, b.id) for b in session.scalars(select(Building).order_by(Building.id))
    ]


def building(session: Session, building_id: str) -> BuildingPublic:
    """One building and its floors."""
    b = session.get(Building, building_id)
    if b is None:
        raise NotFoundError(T("no building {building}", building=repr(building_id)))
    floors = session.scalars(
        select(Floor).where(Floor.building_id == b.id).order_by(Floor.level)
    ).all()
    # The agencies' names, read once for every floor that has one.
    names = (
        {a.id: a.name for a in agencies.agencies(session)}
        if any(f.agency_id for f in floors)
        else {}
    )
    summaries = []
    for f in floors:
        desks = session.scalars(select(Desk.id).where(Desk.floor_id == f.id)).all()
        rooms = session.scalars(select(Room.id).where(Room.floor_id == f.id)).all()
        summaries.append(
            FloorSummary(
                id=f.code,
                name=f.name,
                level=f.level,
                agency=f.agency_id,
                agency_name=names.get(f.agency_id) if f.agency_id else None,
                desks=len(desks),
                rooms=len(rooms),
            )
        )
    return BuildingPublic(
        id=b.id, name=b.name, address=b.address, timezone=b.timezone, floors=summaries
    )


def get_floor(session: Session, building_id: str, floor_code: str) -> Floor:
    """A floor row, or NotFoundError."""
    floor = session.scalar(
        select(Floor).where(Floor.building_id == building_id, Floor.code == floor_code)
    )
    if floor is None:
        raise NotFoundError(
            T(
                "no floor {floor} in building {building}",
                floor=repr(floor_code),
                building=repr(building_id),
            )
        )
    return floor


def place_names(session: Session, building_id: str) -> dict[str, str]:
    """The building's desks', rooms' and zones' names by code (a code without a name: itself)."""
    found: dict[str, str] = {}
    for model in (Zone, Desk, Room):
        rows = session.execute(
            select(model.code, model.name).where(model.building_id == building_id)
        )
        found |= {code: name or code for code, name in rows}
    return found


def zones(session: Session, building_id: str) -> list[Zone]:
    """A building's zones, by code."""
    return list(
        session.scalars(select(Zone).where(Zone.building_id == building_id).order_by(Zone.code))
    )


def desk_qr_key(session: Session, building_id: str, desk_code: str) -> str | None:
    """The secret a desk's QR label carries (what someone scanning it at the desk reads)."""
    return session.scalar(
        select(Desk.qr_key).where(Desk.building_id == building_id, Desk.code == desk_code)
    )


def desk_floor(session: Session, building_id: str, desk_code: str) -> Floor:
    """The floor a desk is on, or NotFoundError."""
    floor = session.scalar(
        select(Floor)
        .join(Desk, Desk.floor_id == Floor.id)
        .where(Desk.building_id == building_id, Desk.code == desk_code)
    )
    if floor is None:
        raise NotFoundError(
            T(
                "no desk {desk} in building {building}",
                desk=repr(desk_code),
                building=repr(building_id),
            )
        )
    return floor


def floor_map(session: Session, building_id: str, floor_code: str) -> FloorPublic:
    """A floor with its zones, desks and rooms: what a floor map draws."""
    floor = get_floor(session, building_id, floor_code)
    zone_rows = session.scalars(select(Zone).where(Zone.building_id == building_id)).all()
    code = {z.id: z.code for z in zone_rows}
    floor_codes = {f.id: f.code for f in _rows(session, Floor, building_id)}
    zones = [
        ZonePublic(id=z.code, name=z.name, kind=z.kind, floor=floor.code, team=z.team)
        for z in zone_rows
        if z.floor_id == floor.id
    ]
    desks = [
        DeskPublic(
            id=d.code,
            name=d.name,
            floor=floor.code,
            zone=code[d.zone_id],
            lighting_zone=code.get(d.lighting_zone_id or 0),
            neighbourhood=code.get(d.neighbourhood_id or 0),
            x=d.x,
            y=d.y,
            monitor=d.monitor,
            standing=d.standing,
            accessible=d.accessible,
            quiet=d.quiet,
            bookable=d.bookable,
        )
        for d in session.scalars(select(Desk).where(Desk.floor_id == floor.id).order_by(Desk.code))
    ]
    rooms = [
        RoomPublic(
            id=r.code,
            name=r.name,
            floor=floor_codes[r.floor_id],
            zone=code[r.zone_id],
            lighting_zone=code.get(r.lighting_zone_id or 0),
            capacity=r.capacity,
            x=r.x,
            y=r.y,
            width=r.width,
            height=r.height,
            bookable=r.bookable,
        )
        for r in session.scalars(select(Room).where(Room.floor_id == floor.id).order_by(Room.code))
    ]
    plan_url = f"/api/v1/buildings/{building_id}/floors/{floor.code}/plan" if floor.plan else None
    return FloorPublic(
        id=floor.code,
        name=floor.name,
        level=floor.level,
        width=floor.width,
        height=floor.height,
        agency=floor.agency_id,
        plan_url=plan_url,
        zones=zones,
        desks=desks,
        rooms=rooms,
    )


def zone_ref(session: Session, building: str, code: str) -> dict[str, str] | None:
    """The tags of a zone as a device's space (energy meters serve zones)."""
    row = session.execute(
        select(Floor.code)
        .select_from(Zone)
        .join(Floor, Floor.id == Zone.floor_id)
        .where(Zone.building_id == building, Zone.code == code)
    ).first()
    if row is None:
        return None
    return {
        "building": building,
        "floor": row[0],
        "zone": code,
        "space": code,
        "space_kind": "zone",
    }


def find_desk_id(session: Session, building: str, code: str) -> int:
    """The key of a desk by its code, or NotFoundError."""
    desk_id = session.scalar(select(Desk.id).where(Desk.building_id == building, Desk.code == code))
    if desk_id is None:
        raise NotFoundError(
            T("no desk {code} in building {building}", code=repr(code), building=repr(building))
        )
    return desk_id


class DeskPlace(NamedTuple):
    """Where a desk is: its code, its floor's and its (HVAC) zone's codes, whose floor."""

    code: str
    floor: str
    zone: str
    agency: str | None = None
    """The agency whose floor it is; None: the building's own."""


def desk_places(session: Session, building: str) -> dict[int, DeskPlace]:
    """Desk id -> its place, for every desk of the building."""
    rows = session.execute(
        select(Desk.id, Desk.code, Floor.code, Zone.code, Floor.agency_id)
        .join(Floor, Floor.id == Desk.floor_id)
        .join(Zone, Zone.id == Desk.zone_id)
        .where(Desk.building_id == building)
    )
    return {d: DeskPlace(code, floor, zone, agency) for d, code, floor, zone, agency in rows}
