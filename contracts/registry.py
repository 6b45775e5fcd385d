"""The registry snapshot a gateway pulls from the server: which devices exist and where."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.payloads import Label, NodeKind
from contracts.topics import DEVICE_ID_PATTERN

SpaceKind = Literal["desk", "room", "zone", "floor", "building"]


class SpaceRef(BaseModel):
    """Where a device sits: building, floor, zone and the desk or room (or zone) it serves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    building: Label
    floor: Label
    zone: Label
    space: Label
    space_kind: SpaceKind


class DeviceEntry(BaseModel):
    """One registered device as the gateway needs to know it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    kind: NodeKind
    space: SpaceRef | None = Field(default=None, description="None while unassigned.")
    mqtt_hash: str | None = Field(
        default=None,
        description="The device's broker password in Mosquitto's PBKDF2-SHA512 ($7$) format; "
        "the gateway writes it to the broker's password file.",
    )


class RegistrySnapshot(BaseModel):
    """Every device a gateway serves, with a version that changes when anything does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    gateway_id: str = Field(pattern=DEVICE_ID_PATTERN)
    version: str
    devices: list[DeviceEntry]

    def by_id(self) -> dict[str, DeviceEntry]:
        """Devices keyed by id."""
        return {d.device_id: d for d in self.devices}
