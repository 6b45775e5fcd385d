"""Registry tables: gateways, the devices they serve, and messages on their way down."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, mapped_column

from contracts.registry import SpaceRef
from server.db import Base

# Where a device is in its life: registered and never heard, talking, silent, retired.
DeviceState = Literal["new", "online", "offline", "decommissioned"]
# The columns that say where a device is (its space's tags on the wire).
SPACE_COLUMNS = ("building", "floor", "zone", "space", "space_kind")


class Gateway(Base):
    """A building's edge gateway; only a hash of its token is kept."""

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    building: Mapped[str | None] = mapped_column(String(32), default=None)
    last_ingest_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_contact_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # What the gateway last said of its outbox (headers on its polls): a building whose
    # readings are stuck shows here even while its gateway still talks to the server.
    outbox_depth: Mapped[int | None] = mapped_column(BigInteger, default=None)
    oldest_unsent_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    dead_letters: Mapped[int | None] = mapped_column(BigInteger, default=None)
    backlog_reported_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class Device(Base):
    """A sensor node, its place, its broker password hash, and what was last heard of it."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    gateway_id: Mapped[str | None] = mapped_column(
        ForeignKey("gateways.id", ondelete="SET NULL"), index=True, default=None
    )
    # The space tags are copied from the layout when the device is assigned, so the
    # gateway's snapshot and every stored reading need no join.
    building: Mapped[str | None] = mapped_column(String(32), default=None)
    floor: Mapped[str | None] = mapped_column(String(32), default=None)
    zone: Mapped[str | None] = mapped_column(String(32), default=None)
    space: Mapped[str | None] = mapped_column(String(32), default=None)
    space_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    mqtt_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    registered_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    decommissioned_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_reading_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    fw: Mapped[str | None] = mapped_column(String(32), default=None)
    boot: Mapped[int | None] = mapped_column(Integer, default=None)
    rssi_dbm: Mapped[int | None] = mapped_column(Integer, default=None)
    heap_free: Mapped[int | None] = mapped_column(Integer, default=None)
    uptime_s: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sensor_errors: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(80), default=None)
    buffered: Mapped[int | None] = mapped_column(BigInteger, default=None)
    dropped: Mapped[int | None] = mapped_column(BigInteger, default=None)
    seq_boot: Mapped[int | None] = mapped_column(Integer, default=None)
    last_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    seq_bid: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Boot ids of boots counted before (contracts.boots): stragglers of them count for nothing.
    past_bids: Mapped[str] = mapped_column(String(100), default="", server_default="")
    gaps: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    @property
    def lifecycle(self) -> DeviceState:
        """Where the device is in its life."""
        if self.decommissioned_ms is not None:
            return "decommissioned"
        if self.status_ms is None and self.last_seen_ms is None:
            return "new"
        return "online" if self.online else "offline"

    @property
    def place(self) -> SpaceRef | None:
        """Its space's tags, or None while unassigned."""
        return device_space(self)


class Downlink(Base):
    """A message for a device (a command, or its desired state), delivered by its gateway.

    A command is answered by the device on ``up/ack``; the ingest path records the answer
    here, so the installer who sent it sees it.
    """

    __tablename__ = "downlink"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"))
    # A device's message, or (device None) a zone's command for the building-management
    # system on zone/{zone}/down/{channel}.
    device_id: Mapped[str | None] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), index=True, default=None
    )
    zone: Mapped[str | None] = mapped_column(String(32), default=None)
    channel: Mapped[str] = mapped_column(String(8))
    payload: Mapped[str] = mapped_column(Text)
    retain: Mapped[bool] = mapped_column(Boolean, default=False)
    cmd_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    requested_by: Mapped[str | None] = mapped_column(String(100), default=None)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    sent_ms: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    ack_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    error: Mapped[str | None] = mapped_column(String(200), default=None)


def device_space(row: Device | Row[Any]) -> SpaceRef | None:
    """A device row's space tags (a whole row, or one of just its SPACE_COLUMNS), or None."""
    if row.space is None:
        return None
    return SpaceRef.model_validate({k: getattr(row, k) for k in SPACE_COLUMNS})
