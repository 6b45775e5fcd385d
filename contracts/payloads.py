"""Payload models for every MQTT message, and the one function that validates uplinks.

Every model is frozen, forbids unknown fields and parses strictly (a ``"5"`` is not a
number, a ``1`` is not a boolean). Physical ranges are the sensors' own measuring ranges
with some headroom, so a reading outside them is a fault, not weather. Every number is
bounded to what every store holds: integers within a signed 32-bit count (far below
InfluxDB's and SQLite's int64), floats finite (no NaN or infinity), so a reading the
contract accepts is one every store takes.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from contracts.exceptions import PayloadError

MAX_PAYLOAD_BYTES: Final = 1024
# Counters (boot, seq, uptime, heap, buffered...) are MicroPython small ints on the node and
# int64 in every store; 2**31 - 1 is beyond what any of them reaches in a node's life.
COUNT_MAX: Final = 2**31 - 1
# The boot id is 32 random bits (os.urandom(4) on the node).
BOOT_ID_MAX: Final = 2**32 - 1
# 2020-01-01 .. 2100-01-01 in epoch ms: anything outside is a clock that was never set.
TS_MIN_MS: Final = 1_577_836_800_000
TS_MAX_MS: Final = 4_102_444_800_000

Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,32}$")]
Firmware = Annotated[str, StringConstraints(min_length=1, max_length=32)]
NodeKind = Literal["desk", "room", "energy"]


class Fields(BaseModel):
    """Base of every payload and of its fields: frozen, no unknown fields, strict types."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class Message(Fields):
    """Base of every payload."""

    v: Literal[1] = Field(description="Schema version.")


class Uplink(Message):
    """Fields every uplink carries: boot counter and id, per-boot sequence and device time.

    (boot, bid, seq) identifies a message of a device: a node that starts over (a factory
    reset, an erased flash, a replacement board) counts boots from 1 again, but draws a new
    random ``bid`` at every boot, so its new messages never repeat an old key.
    """

    boot: int = Field(ge=0, le=COUNT_MAX, description="Boot counter, +1 each boot.")
    bid: int | None = Field(
        default=None,
        ge=0,
        le=BOOT_ID_MAX,
        description="Boot id: 32 random bits drawn at each boot (absent from firmware "
        "before 0.2, read as 0).",
    )
    seq: int = Field(ge=0, le=COUNT_MAX, description="Per-boot message counter from 0.")
    ts: int | None = Field(
        default=None,
        ge=TS_MIN_MS,
        le=TS_MAX_MS,
        description="Epoch milliseconds from the device clock; absent before NTP sync.",
    )


class PresenceFields(Fields):
    """The measurement fields of ``presence``: as the batch carries them in ``data``."""

    occupied: bool
    source: Literal["pir", "mmwave", "both"]
    distance_cm: float | None = Field(default=None, ge=0, le=2000)


class Presence(PresenceFields, Uplink):
    """A desk's occupancy, from PIR and/or mmWave radar."""


class EnvFields(Fields):
    """The measurement fields of ``env``: as the batch carries them in ``data``."""

    co2_ppm: float = Field(ge=0, le=40_000)
    temp_c: float = Field(ge=-40, le=85)
    rh_pct: float = Field(ge=0, le=100)
    lux: float | None = Field(default=None, ge=0, le=200_000)


class Env(EnvFields, Uplink):
    """Room climate: CO2, temperature, humidity and optional light."""


class EnergyFields(Fields):
    """The measurement fields of ``energy``: as the batch carries them in ``data``."""

    power_w: float = Field(ge=0, le=1_000_000)
    energy_wh: float = Field(ge=0, le=1e12, description="Cumulative; may reset on replacement.")
    voltage_v: float | None = Field(default=None, ge=0, le=500)
    current_a: float | None = Field(default=None, ge=0, le=1000)
    pf: float | None = Field(default=None, ge=0, le=1)
    circuit: Label | None = None


class Energy(EnergyFields, Uplink):
    """One power meter: power now and the meter's cumulative energy counter."""


class PeopleFields(Fields):
    """The measurement fields of ``people``: as the batch carries them in ``data``."""

    count: int = Field(ge=0, le=1000)


class People(PeopleFields, Uplink):
    """People counted in a room."""


class HeartbeatFields(Fields):
    """The measurement fields of ``heartbeat``: as the batch carries them in ``data``."""

    uptime_s: int = Field(ge=0, le=COUNT_MAX)
    rssi_dbm: int = Field(ge=-120, le=0)
    heap_free: int = Field(ge=0, le=COUNT_MAX)
    fw: Firmware
    buffered: int = Field(ge=0, le=COUNT_MAX)
    dropped: int = Field(ge=0, le=COUNT_MAX)
    sensor_errors: int | None = Field(
        default=None, ge=0, le=COUNT_MAX, description="Sensor faults since boot."
    )
    last_error: Annotated[str, StringConstraints(max_length=80)] | None = Field(
        default=None, description="The newest sensor fault, e.g. 'scd4x: CRC mismatch'."
    )


class Heartbeat(HeartbeatFields, Uplink):
    """Periodic node health."""


class AckFields(Fields):
    """The measurement fields of ``ack``: as the batch carries them in ``data``."""

    cmd_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    ok: bool
    error: Annotated[str, StringConstraints(max_length=200)] | None = None


class Ack(AckFields, Uplink):
    """A device's answer to a command."""


class StatusFields(Fields):
    """A device status's fields besides boot and boot id: as the batch carries them."""

    state: Literal["online", "offline"]
    fw: Firmware
    kind: NodeKind


class DeviceStatus(StatusFields, Message):
    """Retained availability of a device; ``offline`` is also its Last Will."""

    boot: int = Field(ge=0, le=COUNT_MAX)
    bid: int | None = Field(default=None, ge=0, le=BOOT_ID_MAX)


class GatewayStatus(Message):
    """Retained availability of a gateway; ``offline`` is also its Last Will."""

    state: Literal["online", "offline"]
    version: Firmware


M = TypeVar("M", bound=Message)


class Command(Message):
    """A command to a device on ``down/cmd``; the device answers on ``up/ack``."""

    cmd_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    cmd: Literal["identify", "reboot", "config"]
    args: dict[str, Any] = Field(default_factory=dict)


LedState = Literal["free", "booked", "awaiting_checkin", "occupied", "off"]
"""A desk's state as its LED shows it (and the maps, the kiosk and the reports name it)."""
LED_STATES: tuple[str, ...] = get_args(LedState)


class DeskState(Message):
    """Retained desired state of a desk's LED on ``down/state``."""

    state: LedState
    since: int | None = Field(default=None, ge=TS_MIN_MS, le=TS_MAX_MS)


ZoneMode = Literal["normal", "setback", "off"]
ZoneReason = Literal[
    "occupied", "vacancy_grace", "standby", "booked", "preconditioning", "vacant", "closed"
]


class ZoneCommand(Message):
    """Retained desired mode of a zone's HVAC or lighting on ``zone/{zone}/down/{channel}``.

    For a building-management system. ``valid_until``: a BMS that hears nothing newer by
    then goes back to its own schedule (the platform refreshes the command well before).
    """

    building: Label
    floor: Label
    zone: Label
    channel: Literal["hvac", "lighting"]
    mode: ZoneMode
    reason_code: ZoneReason
    reason: Annotated[str, StringConstraints(max_length=300)]
    since: int = Field(ge=TS_MIN_MS, le=TS_MAX_MS, description="When this mode began.")
    valid_until: int = Field(ge=TS_MIN_MS, le=TS_MAX_MS)
    setpoint_c: float | None = Field(
        default=None, ge=10, le=35, description="HVAC cooling setpoint; None when off."
    )
    level_pct: int | None = Field(
        default=None, ge=0, le=100, description="Lighting level; 0 when off."
    )
    next_mode: ZoneMode | None = Field(default=None, description="The next mode, if known.")
    next_at: int | None = Field(default=None, ge=TS_MIN_MS, le=TS_MAX_MS)


UPLINK_MODELS: Final[dict[str, type[Uplink]]] = {
    "presence": Presence,
    "env": Env,
    "energy": Energy,
    "people": People,
    "heartbeat": Heartbeat,
    "ack": Ack,
}
# Fields of every uplink that are envelope, not measurement.
ENVELOPE_FIELDS: Final = frozenset({"v", "boot", "bid", "seq", "ts"})


def describe(exc: ValidationError) -> str:
    """One line naming each wrong field, what was wrong and the value that was sent."""
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        got = err.get("input")
        shown = "" if err["type"] == "missing" else f" (got {repr(got)[:40]})"
        if err["type"] == "json_invalid":
            shown = ""
        parts.append(f"{where}: {err['msg']}{shown}")
    more = exc.error_count() - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_uplink(stream: str, payload: bytes) -> Uplink:
    """Validate an uplink payload of ``stream``, or raise :class:`PayloadError` saying why."""
    model = UPLINK_MODELS.get(stream)
    if model is None:
        raise PayloadError(f"unknown stream {stream!r}")
    return _validate(model, payload)


def parse_status(payload: bytes) -> DeviceStatus:
    """Validate a device status payload, or raise :class:`PayloadError` saying why."""
    return _validate(DeviceStatus, payload)


def _validate(model: type[M], payload: bytes) -> M:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    if not payload.lstrip()[:1] == b"{":
        raise PayloadError("payload is not a JSON object")
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise PayloadError(describe(exc)) from exc
