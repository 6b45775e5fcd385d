"""Messages on their way from the server to devices, through the building's gateway.

The gateway long-polls ``GET /api/v1/gateway/downlink``, publishes each item on the
device's ``down/{channel}`` topic (a zone's command on ``zone/{zone}/down/{channel}``),
then confirms with ``POST /api/v1/gateway/downlink/sent``. Devices answer commands on
``up/ack``, which reaches the server as an ordinary reading.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.topics import DEVICE_ID_PATTERN, ZONE_PATTERN


class DownlinkItem(BaseModel):
    """One message for one device, or a zone's command for the building-management system."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    device: str | None = Field(default=None, pattern=DEVICE_ID_PATTERN)
    zone: str | None = Field(default=None, pattern=ZONE_PATTERN)
    channel: Literal["cmd", "state", "hvac", "lighting"]
    payload: dict[str, Any] = Field(
        description="A Command or a DeskState payload (device), or a ZoneCommand (zone)."
    )
    retain: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> DownlinkItem:
        if (self.device is None) == (self.zone is None):
            raise ValueError("an item is for a device or for a zone, not both or neither")
        if (self.zone is None) != (self.channel in ("cmd", "state")):
            raise ValueError("devices take cmd and state; zones take hvac and lighting")
        return self


class DownlinkBatch(BaseModel):
    """What the gateway should publish now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    items: list[DownlinkItem]
    registry_version: str | None = Field(
        default=None,
        description="The gateway's current registry version; when it differs from the "
        "gateway's own, the gateway pulls the registry at once (a device was registered, "
        "moved or decommissioned).",
    )


class DownlinkSent(BaseModel):
    """The items the gateway has handed to the broker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ids: list[int] = Field(max_length=10_000)
