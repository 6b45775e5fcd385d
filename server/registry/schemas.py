"""Devices, gateways and commands as the API takes and shows them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.payloads import Label, NodeKind
from contracts.registry import SpaceRef
from contracts.topics import DEVICE_ID_PATTERN
from server.registry.models import DeviceState


class DeviceCreate(BaseModel):
    """A device to register; the id is made up when not given."""

    model_config = ConfigDict(extra="forbid")

    kind: NodeKind
    id: str | None = Field(default=None, pattern=DEVICE_ID_PATTERN)
    gateway: str | None = Field(
        default=None,
        pattern=DEVICE_ID_PATTERN,
        description="Default: the gateway of the building the device is assigned to.",
    )


class Assignment(BaseModel):
    """Where a device serves: a desk (desk nodes), a room (room nodes) or a zone (meters)."""

    model_config = ConfigDict(extra="forbid")

    building: Label
    desk: Label | None = None
    room: Label | None = None
    zone: Label | None = None

    @model_validator(mode="after")
    def _one(self) -> Assignment:
        if sum(x is not None for x in (self.desk, self.room, self.zone)) != 1:
            raise ValueError("name exactly one of desk, room or zone")
        return self


class DevicePublic(BaseModel):
    """A device, where it is, and how it is doing (read from a Device row)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    gateway: str | None = Field(validation_alias="gateway_id")
    space: SpaceRef | None = Field(validation_alias="place")
    state: DeviceState = Field(validation_alias="lifecycle")
    registered_ms: int | None
    decommissioned_ms: int | None
    last_seen_ms: int | None
    last_reading_ms: int | None
    status_ms: int | None
    fw: str | None
    boot: int | None
    rssi_dbm: int | None
    heap_free: int | None
    uptime_s: int | None
    sensor_errors: int | None
    last_error: str | None
    buffered: int | None = Field(default=None, description="Readings the node holds unsent")
    dropped: int | None = Field(default=None, description="Readings its full buffer dropped")
    gaps: int
    warnings: list[str] = Field(
        default_factory=list, description="What the change just made deserves a look"
    )


class DeviceCredentials(BaseModel):
    """A device's broker login, shown once: at registration or when the password is reset."""

    device: DevicePublic
    mqtt_username: str
    mqtt_password: str
    base_topic: str


class PasswordCheck(BaseModel):
    """A password to compare with a device's current one."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=200)


class CommandRequest(BaseModel):
    """A command for a device."""

    model_config = ConfigDict(extra="forbid")

    cmd: Literal["identify", "reboot", "config"]
    args: dict[str, Any] = Field(default_factory=dict)


class CommandPublic(BaseModel):
    """A command and how far it got."""

    cmd_id: str
    device: str
    cmd: str
    args: dict[str, Any]
    state: Literal["queued", "sent", "acked", "failed", "expired"]
    requested_by: str | None
    created_ms: int
    sent_ms: int | None
    ack_ms: int | None
    error: str | None


class GatewayCreate(BaseModel):
    """A gateway to register (admins); its token is shown once."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=DEVICE_ID_PATTERN)
    building: Label | None = None


class Backlog(BaseModel):
    """What a gateway holds unsent, as it says on each request (``X-Outbox-*`` headers)."""

    outbox_depth: int = Field(ge=0, le=2**62)
    oldest_unsent_age_ms: int | None = Field(ge=0, le=2**62, description="None: nothing waits.")
    dead_letters: int = Field(ge=0, le=2**62)


class GatewayPublic(BaseModel):
    """A gateway, when it last called, and what it holds unsent."""

    id: str
    building: str | None
    created_ms: int
    last_contact_ms: int | None
    last_ingest_ms: int | None
    revoked: bool
    devices: int
    outbox_depth: int | None = None
    oldest_unsent_ms: int | None = None
    dead_letters: int | None = None
    backlog_reported_ms: int | None = None
    troubles: list[str] = Field(
        default_factory=list, description="Why this gateway's building needs a look, if it does."
    )


class GatewayToken(BaseModel):
    """A gateway's new token, shown once."""

    gateway: str
    token: str
