"""A device's life: registered, assigned, watched, re-assigned, decommissioned.

Registration makes its broker password; re-assignment needs no reflash; decommissioning
revokes the password. Every change takes the acting person and keeps their scope here,
whoever calls (the API, the installers' pages): an installer limited to some buildings
reaches no gateway, desk or device of another.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.credentials import mosquitto_hash, new_password, verify
from server.audit.service import record
from server.auth.service import Principal
from server.clock import now_ms
from server.effects import wake
from server.exceptions import ConflictError, Forbidden, NotFoundError, RegistryError
from server.registry.models import SPACE_COLUMNS, Device, DeviceState, Gateway
from server.registry.schemas import Assignment, DeviceCreate, DevicePublic
from server.registry.service import get_gateway
from server.spaces.service import space_ref, zone_ref

# Which kind of space each kind of node may serve.
SERVES = {"desk": "desk", "room": "room", "energy": "zone"}


def public(row: Device) -> DevicePublic:
    """A device row as the API shows it."""
    return DevicePublic.model_validate(row)


def get_device(session: Session, device_id: str) -> Device:
    """A device row or NotFoundError."""
    row = session.get(Device, device_id)
    if row is None:
        raise NotFoundError(f"no device {device_id!r}")
    return row


def may_work_in(actor: Principal, building: str | None, what: str) -> None:
    """Forbidden when an installer limited to some buildings reaches for another one."""
    if not actor.works_in(building):
        mine = ", ".join(sorted(actor.buildings or ()))
        raise Forbidden(f"{what} is in building {building!r}; you work in {mine}")


def building_of(session: Session, row: Device) -> str | None:
    """Where a device belongs: its space's building, else its gateway's (None: nowhere yet)."""
    if row.building is not None or row.gateway_id is None:
        return row.building
    gw = session.get(Gateway, row.gateway_id)
    return gw.building if gw is not None else None


def device_of(session: Session, *, actor: Principal, device_id: str) -> Device:
    """A device the actor may work on (its building is theirs), or NotFound/Forbidden."""
    row = get_device(session, device_id)
    may_work_in(actor, building_of(session, row), f"device {device_id!r}")
    return row


def live_device(session: Session, device_id: str, actor: Principal) -> Device:
    """A device the actor may work on that is not decommissioned."""
    row = device_of(session, actor=actor, device_id=device_id)
    if row.decommissioned_ms is not None:
        raise ConflictError(f"device {device_id!r} is decommissioned; register it again")
    return row


def places_of(session: Session, new: DeviceCreate) -> dict[str, str | None]:
    """The buildings a registration reaches into: its gateway's, and a replaced board's."""
    places: dict[str, str | None] = {}
    if new.gateway is not None:
        places[f"gateway {new.gateway!r}"] = get_gateway(session, new.gateway).building
    if new.id is not None and (row := session.get(Device, new.id)) is not None:
        places[f"device {new.id!r}"] = building_of(session, row)
    return places


def register(session: Session, *, actor: Principal, new: DeviceCreate) -> tuple[Device, str]:
    """Create a device and its broker password, returned once; only its hash is kept.

    A decommissioned id may be registered again (a replaced board), by someone who may
    work in its building.
    """
    for what, building in places_of(session, new).items():
        may_work_in(actor, building, what)
    device_id = new.id or f"{new.kind}-{secrets.token_hex(3)}"
    if new.gateway is not None:
        get_gateway(session, new.gateway)
    if session.get(Gateway, device_id) is not None:
        raise ConflictError(
            f"{device_id!r} is a gateway's id, and devices and gateways share one namespace "
            "of broker logins; choose another device id"
        )
    password = new_password()
    row = session.get(Device, device_id)
    if row is not None and row.decommissioned_ms is None:
        raise ConflictError(f"device {device_id!r} is already registered")
    if row is None:
        row = Device(id=device_id, kind=new.kind, gateway_id=new.gateway)
        session.add(row)
    else:
        row.kind, row.gateway_id = new.kind, new.gateway
        for column in SPACE_COLUMNS:
            setattr(row, column, None)
        row.decommissioned_ms = None
        row.online, row.status_ms, row.last_seen_ms, row.gaps = False, None, None, 0
        row.last_reading_ms = None
        row.seq_boot = row.last_seq = row.seq_bid = None
        row.past_bids = ""
    row.mqtt_hash = mosquitto_hash(password)
    row.registered_ms = now_ms()
    session.flush()
    record(
        session,
        actor=actor.username,
        action="device.register",
        target_kind="device",
        target_id=device_id,
        kind=new.kind,
        gateway=new.gateway,
    )
    wake(session, row.gateway_id)  # its registry changed: the gateway fetches it
    return row, password


def reset_password(session: Session, *, actor: Principal, device_id: str) -> tuple[Device, str]:
    """A new broker password for a device (the old one stops working at the next reload)."""
    row = live_device(session, device_id, actor)
    password = new_password()
    row.mqtt_hash = mosquitto_hash(password)
    record(
        session,
        actor=actor.username,
        action="device.password",
        target_kind="device",
        target_id=device_id,
    )
    wake(session, row.gateway_id)  # its registry changed: the gateway fetches it
    return row, password


def password_matches(session: Session, *, actor: Principal, device_id: str, password: str) -> bool:
    """Whether ``password`` is the device's current broker password."""
    row = live_device(session, device_id, actor)
    return row.mqtt_hash is not None and verify(password, row.mqtt_hash)


def assign(session: Session, *, actor: Principal, device_id: str, where: Assignment) -> Device:
    """Bind a device to a desk, room or zone; the device itself needs no change."""
    row = live_device(session, device_id, actor)
    want = SERVES[row.kind]
    given = "desk" if where.desk else "room" if where.room else "zone"
    may_work_in(actor, where.building, "the place")
    if given != want:
        raise RegistryError(f"a {row.kind} node serves a {want}, not a {given}")
    code = where.desk or where.room or where.zone
    assert code is not None
    ref = (
        zone_ref(session, where.building, code)
        if given == "zone"
        else space_ref(session, where.building, code)
    )
    if ref is None or ref["space_kind"] != given:
        raise NotFoundError(f"no {given} {code!r} in building {where.building!r}")
    if row.gateway_id is None:
        row.gateway_id = _building_gateway(session, where.building)
    old = row.place
    for column in SPACE_COLUMNS:
        setattr(row, column, ref[column])
    record(
        session,
        actor=actor.username,
        action="device.assign",
        target_kind="device",
        target_id=device_id,
        old=old.model_dump() if old else None,
        new=ref,
    )
    wake(session, row.gateway_id)  # its registry changed: the gateway fetches it
    return row


def sharing(session: Session, row: Device) -> list[str]:
    """The other live nodes on the same desk as ``row`` (a desk wants one: a warning)."""
    if row.space_kind != "desk" or row.space is None:
        return []
    return list(
        session.scalars(
            select(Device.id)
            .where(
                Device.building == row.building,
                Device.space == row.space,
                Device.space_kind == "desk",
                Device.id != row.id,
                Device.decommissioned_ms.is_(None),
            )
            .order_by(Device.id)
        )
    )


def _building_gateway(session: Session, building: str) -> str:
    ids = session.scalars(
        select(Gateway.id).where(Gateway.building == building, Gateway.revoked_ms.is_(None))
    ).all()
    if len(ids) != 1:
        found = f"{len(ids)} gateways ({', '.join(ids)})" if ids else "no gateway"
        raise RegistryError(
            f"building {building!r} has {found}: name the device's gateway when registering it"
        )
    return ids[0]


def unassign(session: Session, *, actor: Principal, device_id: str) -> Device:
    """Take a device off its space (it keeps sending; readings carry no space)."""
    row = live_device(session, device_id, actor)
    for column in SPACE_COLUMNS:
        setattr(row, column, None)
    record(
        session,
        actor=actor.username,
        action="device.unassign",
        target_kind="device",
        target_id=device_id,
    )
    wake(session, row.gateway_id)  # its registry changed: the gateway fetches it
    return row


def decommission(session: Session, *, actor: Principal, device_id: str) -> Device:
    """Retire a device: its password is revoked and its gateway stops listening to it.

    The row stays, so its readings and audit history keep their meaning.
    """
    row = live_device(session, device_id, actor)
    row.decommissioned_ms = now_ms()
    row.mqtt_hash = None
    row.online = False
    record(
        session,
        actor=actor.username,
        action="device.decommission",
        target_kind="device",
        target_id=device_id,
    )
    wake(session, row.gateway_id)  # its registry changed: the gateway fetches it
    return row


def devices(
    session: Session,
    *,
    actor: Principal,
    building: str | None = None,
    floor: str | None = None,
    kind: str | None = None,
    state: DeviceState | None = None,
) -> list[DevicePublic]:
    """Devices the actor may see, optionally of one building, floor, kind or state.

    An installer limited to some buildings sees theirs and the devices not placed yet.
    """
    query = select(Device).order_by(Device.id)
    if building:
        query = query.where(Device.building == building)
    if floor:
        query = query.where(Device.floor == floor)
    if kind:
        query = query.where(Device.kind == kind)
    rows = [public(r) for r in session.scalars(query) if actor.works_in(building_of(session, r))]
    if state is None:
        return [r for r in rows if r.state != "decommissioned"]
    return [r for r in rows if r.state == state]
