"""The batch a gateway sends to ``POST /api/v1/ingest`` and the server's answer.

A batch is gzip-compressed JSON. Each reading is one validated uplink (or a device status
change), already mapped to its space by the gateway: the envelope, and the stream's own
fields in ``data``. The gateway writes it with these models (``uplink_reading``,
``status_reading``, ``batch_json``) and the server reads it with them (``READING``), in
one pass per reading: the server still checks everything, so a gateway of another
version cannot store what the contract forbids.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.payloads import (
    BOOT_ID_MAX,
    COUNT_MAX,
    TS_MAX_MS,
    TS_MIN_MS,
    AckFields,
    DeviceStatus,
    EnergyFields,
    EnvFields,
    Fields,
    HeartbeatFields,
    PeopleFields,
    PresenceFields,
    StatusFields,
    Uplink,
)
from contracts.registry import SpaceRef
from contracts.topics import DEVICE_ID_PATTERN, STREAMS

# "status" carries DeviceStatus changes (online, or offline from the Last Will).
BATCH_STREAMS = (*STREAMS, "status")
MAX_BATCH_READINGS = 20_000


class _Reading(BaseModel):
    """What every reading of a batch carries besides its stream and fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str = Field(pattern=DEVICE_ID_PATTERN)
    boot: int = Field(ge=0, le=COUNT_MAX)
    bid: int = Field(default=0, ge=0, le=BOOT_ID_MAX, description="Boot id; 0 when not sent.")
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


class _UplinkReading(_Reading):
    stream: str
    data: Fields
    seq: int = Field(ge=0, le=COUNT_MAX, description="Per-boot message counter.")


class PresenceReading(_UplinkReading):
    """A ``presence`` uplink in a batch."""

    stream: Literal["presence"]
    data: PresenceFields


class EnvReading(_UplinkReading):
    """An ``env`` uplink in a batch."""

    stream: Literal["env"]
    data: EnvFields


class EnergyReading(_UplinkReading):
    """An ``energy`` uplink in a batch."""

    stream: Literal["energy"]
    data: EnergyFields


class PeopleReading(_UplinkReading):
    """A ``people`` uplink in a batch."""

    stream: Literal["people"]
    data: PeopleFields


class HeartbeatReading(_UplinkReading):
    """A ``heartbeat`` uplink in a batch."""

    stream: Literal["heartbeat"]
    data: HeartbeatFields


class AckReading(_UplinkReading):
    """An ``ack`` uplink in a batch."""

    stream: Literal["ack"]
    data: AckFields


class StatusReading(_Reading):
    """A device status change in a batch (``offline`` from its Last Will, too)."""

    stream: Literal["status"]
    seq: None = None
    data: StatusFields


Reading = Annotated[
    PresenceReading
    | EnvReading
    | EnergyReading
    | PeopleReading
    | HeartbeatReading
    | AckReading
    | StatusReading,
    Field(discriminator="stream"),
]
"""One reading of a batch: the envelope, and the stream's own fields in ``data``. The
gateway writes it and the server reads it with these models, checked once."""
READING: Final[TypeAdapter[Reading]] = TypeAdapter(Reading)
_BY_STREAM: Final[dict[str, type[_UplinkReading]]] = {
    "presence": PresenceReading,
    "env": EnvReading,
    "energy": EnergyReading,
    "people": PeopleReading,
    "heartbeat": HeartbeatReading,
    "ack": AckReading,
}


def uplink_reading(
    device: str, stream: str, up: Uplink, *, received_ms: int, space: SpaceRef | None
) -> bytes:
    """The batch's JSON of an uplink the gateway has just validated.

    Built without validating again (``up`` was); its measurement fields are written from
    the payload model as the stream's fields model, so the envelope stays out of ``data``.
    """
    reading = _BY_STREAM[stream].model_construct(
        device=device,
        stream=stream,
        boot=up.boot,
        bid=up.bid or 0,
        seq=up.seq,
        ts=up.ts if up.ts is not None else received_ms,
        ts_source="device" if up.ts is not None else "gateway",
        received=received_ms,
        space=space,
        data=up,
    )
    return reading.model_dump_json(exclude_none=True).encode()


def status_reading(
    device: str, status: DeviceStatus, *, received_ms: int, space: SpaceRef | None
) -> bytes:
    """The batch's JSON of a device status change the gateway has just validated."""
    reading = StatusReading.model_construct(
        device=device,
        stream="status",
        boot=status.boot,
        bid=status.bid or 0,
        ts=received_ms,
        ts_source="gateway",
        received=received_ms,
        space=space,
        data=status,
    )
    return reading.model_dump_json(exclude_none=True).encode()


def batch_json(gateway_id: str, batch_id: str, readings: list[bytes]) -> bytes:
    """An :class:`IngestBatch` as JSON, from readings already written as JSON.

    The gateway keeps each reading as JSON in its outbox; wrapping them here is cheaper
    than reading them back into models. ``tests/contracts/test_batch.py`` checks the
    result is one.
    """
    head = IngestBatch(v=1, gateway_id=gateway_id, batch_id=batch_id, readings=[])
    return head.model_dump_json()[:-3].encode() + b"[" + b",".join(readings) + b"]}"


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
