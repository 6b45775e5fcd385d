"""Registry operations: import a document, add gateways, build a gateway's snapshot."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.payloads import NodeKind, describe
from contracts.registry import DeviceEntry, RegistrySnapshot, SpaceRef
from contracts.topics import DEVICE_ID_PATTERN
from server.exceptions import RegistryError
from server.registry.models import Device, Gateway


class DeviceDoc(BaseModel):
    """A device in a registry document."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=DEVICE_ID_PATTERN)
    kind: NodeKind
    gateway: str = Field(pattern=DEVICE_ID_PATTERN)
    space: SpaceRef | None = None


class RegistryDoc(BaseModel):
    """A registry document: gateways and devices (``smartoffice registry import``)."""

    model_config = ConfigDict(extra="forbid")

    gateways: list[str] = Field(default_factory=list)
    devices: list[DeviceDoc] = Field(default_factory=list)


def hash_token(token: str) -> str:
    """SHA-256 of a gateway token; tokens are 256-bit random, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_gateway(session: Session, *, gateway_id: str) -> str:
    """Register a gateway (or rotate its token) and return the new token, shown once."""
    token = f"{gateway_id}.{secrets.token_urlsafe(32)}"
    gw = session.get(Gateway, gateway_id)
    if gw is None:
        session.add(
            Gateway(
                id=gateway_id, token_sha256=hash_token(token), created_ms=int(time.time() * 1000)
            )
        )
    else:
        gw.token_sha256 = hash_token(token)
    return token


def gateway_for_token(session: Session, token: str) -> Gateway | None:
    """The gateway holding ``token``, if any."""
    return session.scalar(select(Gateway).where(Gateway.token_sha256 == hash_token(token)))


def parse_doc(raw: Any) -> RegistryDoc:
    """Validate a registry document, naming the entry and field that are wrong."""
    try:
        return RegistryDoc.model_validate(raw)
    except ValidationError as exc:
        raise RegistryError(describe(exc)) from exc


def import_doc(session: Session, doc: RegistryDoc) -> dict[str, int]:
    """Create or update the gateways and devices of ``doc``; returns counts of changes."""
    known = set(doc.gateways) | {gw.id for gw in session.scalars(select(Gateway))}
    for i, dev in enumerate(doc.devices):
        if dev.gateway not in known:
            raise RegistryError(f"devices.{i}.gateway: unknown gateway {dev.gateway!r}")
    created = updated = unchanged = 0
    for gateway_id in doc.gateways:
        if session.get(Gateway, gateway_id) is None:
            # An imported gateway has no usable token until `smartoffice gateway token`.
            session.add(
                Gateway(
                    id=gateway_id,
                    token_sha256=hash_token(secrets.token_hex(32)),
                    created_ms=int(time.time() * 1000),
                )
            )
    session.flush()
    for dev in doc.devices:
        values = {
            "kind": dev.kind,
            "gateway_id": dev.gateway,
            **(dev.space.model_dump() if dev.space else dict.fromkeys(_SPACE_COLUMNS)),
        }
        row = session.get(Device, dev.id)
        if row is None:
            session.add(Device(id=dev.id, **values))
            created += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            updated += 1
        else:
            unchanged += 1
    return {"created": created, "updated": updated, "unchanged": unchanged}


_SPACE_COLUMNS = ("building", "floor", "zone", "space", "space_kind")


def device_entry(row: Device) -> DeviceEntry:
    """A device row as the contract's registry entry."""
    space = None
    if row.space is not None:
        space = SpaceRef.model_validate({k: getattr(row, k) for k in _SPACE_COLUMNS})
    return DeviceEntry.model_validate({"device_id": row.id, "kind": row.kind, "space": space})


def snapshot(session: Session, *, gateway_id: str) -> RegistrySnapshot:
    """Every device of ``gateway_id``; the version is a digest of the content."""
    rows = session.scalars(
        select(Device).where(Device.gateway_id == gateway_id).order_by(Device.id)
    )
    devices = [device_entry(r) for r in rows]
    digest = hashlib.sha256(
        json.dumps([d.model_dump() for d in devices], sort_keys=True).encode()
    ).hexdigest()[:16]
    return RegistrySnapshot(gateway_id=gateway_id, version=digest, devices=devices)
