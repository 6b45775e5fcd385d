"""The batch a gateway sends to ``POST /api/v1/ingest`` and the server's answer.

A batch is gzip-compressed JSON. Each reading is one validated uplink (or a device status
change), already mapped to its space by the gateway. The server validates every reading
again against :mod:`contracts.payloads`, so a gateway of another version cannot store
what the contract forbids.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.payloads import BOOT_ID_MAX, COUNT_MAX, TS_MAX_MS, TS_MIN_MS
from contracts.registry import SpaceRef
from contracts.topics import DEVICE_ID_PATTERN, STREAMS

# "status" carries DeviceStatus changes (online, or offline from the Last Will).
BATCH_STREAMS = (*STREAMS, "status")
MAX_BATCH_READINGS = 20_000


class Reading(BaseModel):
    """One reading inside an ingest batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str = Field(pattern=DEVICE_ID_PATTERN)
    stream: Literal["presence", "env", "energy", "people", "heartbeat", "ack", "status"]
    boot: int = Field(ge=0, le=COUNT_MAX)
    bid: int = Field(default=0, ge=0, le=BOOT_ID_MAX, description="Boot id; 0 when not sent.")
    seq: int | None = Field(default=None, ge=0, le=COUNT_MAX, description="None for status.")
    ts: int = Field(
        ge=TS_MIN_MS,
        le=TS_MAX_MS,
        description="Epoch ms: the device's time, or the gateway's when absent.",
    )
    ts_source: Literal["device", "gateway"]
    received: int = Field(
        ge=TS_MIN_MS, le=TS_MAX_MS, description="Epoch ms when the gateway received it."
    )
    space: SpaceRef | None = Field(
        default=None,
        description="Where the gateway's registry places the device. The server stores the "
        "reading under the place its own registry gives and ignores this.",
    )
    data: dict[str, Any] = Field(description="The stream's fields, without v/boot/seq/ts.")


class IngestBatch(BaseModel):
    """A gateway's batch.

    ``readings`` are checked one by one, so one bad reading rejects only itself.
    """

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    gateway_id: str = Field(pattern=DEVICE_ID_PATTERN)
    batch_id: str = Field(min_length=1, max_length=64)
    readings: list[dict[str, Any]] = Field(max_length=MAX_BATCH_READINGS)


RejectionKind = Literal["invalid", "foreign", "store"]


class Rejection(BaseModel):
    """Why one reading of a batch was not stored (it is kept in the server's quarantine).

    ``kind``: ``invalid`` breaks the contract, ``foreign`` is from a device not registered to
    the sending gateway, ``store`` was refused by the reading store. Re-sending it is
    pointless: the gateway sets it aside.
    """

    index: int
    device: str | None
    kind: RejectionKind = "invalid"
    reason: str


class IngestResult(BaseModel):
    """The server's answer: how many readings were stored, already held, or refused.

    Every reading of the batch is in exactly one of the three counts, and each refused one
    is listed in ``rejections`` by its index in the batch.
    """

    batch_id: str
    accepted: int
    duplicates: int
    rejected: int
    rejections: list[Rejection] = Field(default_factory=list)
