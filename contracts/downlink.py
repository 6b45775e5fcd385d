"""Messages on their way from the server to devices, through the building's gateway.

The gateway long-polls ``GET /api/v1/gateway/downlink``, publishes each item on the
device's ``down/{channel}`` topic, then confirms with ``POST /api/v1/gateway/downlink/sent``.
Devices answer commands on ``up/ack``, which reaches the server as an ordinary reading.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics import DEVICE_ID_PATTERN


class DownlinkItem(BaseModel):
    """One message for one device."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    device: str = Field(pattern=DEVICE_ID_PATTERN)
    channel: Literal["cmd", "state"]
    payload: dict[str, Any] = Field(description="A Command or a DeskState payload.")
    retain: bool = False


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
