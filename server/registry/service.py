"""Gateways, bulk registry import, and the snapshot a gateway pulls."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.payloads import NodeKind, describe
from contracts.registry import DeviceEntry, RegistrySnapshot, SpaceRef
from contracts.topics import DEVICE_ID_PATTERN
from server.audit.service import record
from server.auth.service import Principal
from server.clock import now_ms
from server.exceptions import ConflictError, NotFoundError, RegistryError
from server.i18n import T
from server.registry.models import SPACE_COLUMNS, Device, Gateway
from server.registry.schemas import Backlog, GatewayCreate, GatewayPublic
from server.spaces.models import Building
from server.spaces.service import space_ref

CONTACT_RESOLUTION_MS = 30_000
# A gateway silent this long, or holding a reading unsent this long, is in trouble.
STALL_MS = 300_000


class DeviceDoc(BaseModel):
    """A device in a registry document."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=DEVICE_ID_PATTERN)
    kind: NodeKind
    gateway: str = Field(pattern=DEVICE_ID_PATTERN)
    space: SpaceRef | None = None
    mqtt_hash: str | None = Field(
        default=None, pattern=r"^\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$"
    )


class RegistryDoc(BaseModel):
    """A registry document: gateways and devices (``smartoffice registry import``)."""

    model_config = ConfigDict(extra="forbid")

    gateways: list[str] = Field(default_factory=list)
    devices: list[DeviceDoc] = Field(default_factory=list)


def hash_token(token: str) -> str:
    """SHA-256 of a gateway token; tokens are 256-bit random, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_gateway(
    session: Session, *, gateway_id: str, actor: str = "cli", building: str | None = None
) -> str:
    """Register a gateway (or rotate its token, re-enabling it) and return the token once."""
    token = f"{gateway_id}.{secrets.token_urlsafe(32)}"
    if session.get(Device, gateway_id) is not None:
        raise ConflictError(
            f"{gateway_id!r} is a device's id, and devices and gateways share one namespace "
            "of broker logins; choose another gateway id"
        )
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        session.add(
            Gateway(
                id=gateway_id,
                token_sha256=hash_token(token),
                created_ms=now_ms(),
                building=building,
            )
        )
        action = "gateway.create"
    else:
        gw.token_sha256 = hash_token(token)
        gw.revoked_ms = None
        if building is not None:
            gw.building = building
        action = "gateway.token"
    record(session, actor=actor, action=action, target_kind="gateway", target_id=gateway_id)
    return token


def create_gateway(session: Session, *, actor: Principal, new: GatewayCreate) -> str:
    """Register a new gateway of a building that exists; its token is returned once.

    An id already taken is refused: a new token for an existing gateway is
    ``rotate_gateway``, asked for as such, never a side effect of a typo.
    """
    if session.get(Gateway, new.id) is not None:
        raise ConflictError(
            T("gateway {id} exists already: give it a new token instead", id=repr(new.id))
        )
    if new.building is not None and session.get(Building, new.building) is None:
        raise NotFoundError(T("no building {building}", building=repr(new.building)))
    return add_gateway(session, gateway_id=new.id, actor=actor.username, building=new.building)


def rotate_gateway(session: Session, *, actor: Principal, gateway_id: str) -> str:
    """A new token for an existing gateway (the old one stops working at once)."""
    if session.get(Gateway, gateway_id) is None:
        raise NotFoundError(T("no gateway {id}", id=repr(gateway_id)))
    return add_gateway(session, gateway_id=gateway_id, actor=actor.username)


def revoke_gateway(session: Session, *, gateway_id: str, actor: str) -> None:
    """Invalidate a gateway's token; its devices stay registered."""
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        raise NotFoundError(f"no gateway {gateway_id!r}")
    gw.token_sha256 = hash_token(secrets.token_hex(32))
    gw.revoked_ms = now_ms()
    record(
        session, actor=actor, action="gateway.revoke", target_kind="gateway", target_id=gateway_id
    )


def gateways(session: Session) -> list[GatewayPublic]:
    """Every gateway with its device count."""
    counts = dict(
        session.execute(
            select(Device.gateway_id, func.count())
            .where(Device.decommissioned_ms.is_(None))
            .group_by(Device.gateway_id)
        ).all()
    )
    return [
        GatewayPublic(
            id=g.id,
            building=g.building,
            created_ms=g.created_ms,
            last_contact_ms=g.last_contact_ms,
            last_ingest_ms=g.last_ingest_ms,
            revoked=g.revoked_ms is not None,
            devices=counts.get(g.id, 0),
            outbox_depth=g.outbox_depth,
            oldest_unsent_ms=g.oldest_unsent_ms,
            dead_letters=g.dead_letters,
            backlog_reported_ms=g.backlog_reported_ms,
            troubles=troubles(g, now_ms()),
        )
        for g in session.scalars(select(Gateway).order_by(Gateway.id))
    ]


def troubles(g: Gateway, now: int) -> list[str]:
    """Why a gateway's building needs a look: silent, or readings stuck in its outbox."""
    if g.revoked_ms is not None or g.last_contact_ms is None:
        return []
    out = []
    if now - g.last_contact_ms > STALL_MS:
        out.append(f"gateway {g.id} silent for {(now - g.last_contact_ms) // 60_000} min")
    if g.oldest_unsent_ms and g.backlog_reported_ms:
        age = g.backlog_reported_ms - g.oldest_unsent_ms
        if age > STALL_MS:
            out.append(
                f"gateway {g.id} holds {g.outbox_depth} unsent readings, the oldest "
                f"{age // 60_000} min old"
            )
    return out


def gateway_for_token(
    session: Session, token: str, backlog: Backlog | None = None
) -> Gateway | None:
    """The gateway holding ``token``, if any; notes the contact and what it holds unsent."""
    gw = session.scalar(select(Gateway).where(Gateway.token_sha256 == hash_token(token)))
    if gw is None or gw.revoked_ms is not None:
        return None
    # Every batch and every downlink poll authenticates; a write each time would turn
    # reads into writes. "Last contact" to the nearest half minute is enough.
    now = now_ms()
    if gw.last_contact_ms is None or now - gw.last_contact_ms >= CONTACT_RESOLUTION_MS:
        gw.last_contact_ms = now
        if backlog is not None:
            gw.outbox_depth = backlog.outbox_depth
            age = backlog.oldest_unsent_age_ms
            gw.oldest_unsent_ms = now - age if age is not None else None
            gw.dead_letters = backlog.dead_letters
            gw.backlog_reported_ms = now
    return gw


def parse_doc(raw: Any) -> RegistryDoc:
    """Validate a registry document, naming the entry and field that are wrong."""
    try:
        return RegistryDoc.model_validate(raw)
    except ValidationError as exc:
        raise RegistryError(describe(exc)) from exc


def import_doc(session: Session, doc: RegistryDoc, *, actor: str = "cli") -> dict[str, int]:
    """Create or update the gateways and devices of ``doc``; returns counts of changes.

    A device's space must exist in the building's layout when the building has one.
    """
    known = set(doc.gateways) | {gw.id for gw in session.scalars(select(Gateway))}
    device_ids = {d.id for d in doc.devices}
    for i, gateway_id in enumerate(doc.gateways):
        if gateway_id in device_ids or session.get(Device, gateway_id) is not None:
            raise RegistryError(
                f"gateways.{i}: {gateway_id!r} is also a device's id; devices and gateways "
                "share one namespace of broker logins"
            )
    for i, dev in enumerate(doc.devices):
        if dev.gateway not in known:
            raise RegistryError(f"devices.{i}.gateway: unknown gateway {dev.gateway!r}")
        if dev.id in known:
            raise RegistryError(
                f"devices.{i}.id: {dev.id!r} is a gateway's id; devices and gateways share "
                "one namespace of broker logins"
            )
        if (
            dev.space
            and dev.space.space_kind in ("desk", "room")
            and session.get(Building, dev.space.building) is not None
        ):
            ref = space_ref(session, dev.space.building, dev.space.space)
            if ref is None:
                raise RegistryError(
                    f"devices.{i}.space: no desk or room {dev.space.space!r} in the layout of "
                    f"building {dev.space.building!r}"
                )
    for gateway_id in doc.gateways:
        if session.get(Gateway, gateway_id) is None:
            # An imported gateway has no usable token until `smartoffice registry gateway-token`.
            session.add(
                Gateway(
                    id=gateway_id,
                    token_sha256=hash_token(secrets.token_hex(32)),
                    created_ms=now_ms(),
                )
            )
    session.flush()
    created = updated = unchanged = 0
    for dev in doc.devices:
        values = {
            "kind": dev.kind,
            "gateway_id": dev.gateway,
            "mqtt_hash": dev.mqtt_hash,
            "decommissioned_ms": None,
            **(dev.space.model_dump() if dev.space else dict.fromkeys(SPACE_COLUMNS)),
        }
        row = session.get(Device, dev.id)
        if row is None:
            session.add(Device(id=dev.id, registered_ms=now_ms(), **values))
            created += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            updated += 1
        else:
            unchanged += 1
    if created or updated:
        record(
            session,
            actor=actor,
            action="registry.import",
            target_kind="registry",
            target_id="devices",
            created=created,
            updated=updated,
        )
    return {"created": created, "updated": updated, "unchanged": unchanged}


def snapshot(session: Session, *, gateway_id: str) -> RegistrySnapshot:
    """Every live device of ``gateway_id``; the version is a digest of the content."""
    rows = session.scalars(
        select(Device)
        .where(Device.gateway_id == gateway_id, Device.decommissioned_ms.is_(None))
        .order_by(Device.id)
    )
    devices = [
        DeviceEntry(device_id=r.id, kind=r.kind, space=r.place, mqtt_hash=r.mqtt_hash) for r in rows
    ]
    digest = hashlib.sha256(
        json.dumps([d.model_dump() for d in devices], sort_keys=True).encode()
    ).hexdigest()[:16]
    return RegistrySnapshot(gateway_id=gateway_id, version=digest, devices=devices)


def get_gateway(session: Session, gateway_id: str) -> Gateway:
    """A gateway row or NotFoundError."""
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        raise NotFoundError(f"no gateway {gateway_id!r}")
    if gw.revoked_ms is not None:
        raise ConflictError(f"gateway {gateway_id!r} is revoked; give it a new token first")
    return gw
