"""The ReadingStore interface shared by the InfluxDB and SQLite backends.

Each stream is one measurement. Tags: building, floor, zone, space, space_kind, device.
Fields: the stream's measured values plus ``boot``, ``seq`` and ``ts_gateway`` (whether
the gateway stamped the time). Booleans are stored as 0/1 integers so that, say, presence
can be averaged into an occupancy ratio on either backend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Literal, Protocol

from contracts.batch import BATCH_STREAMS
from contracts.payloads import UPLINK_MODELS, DeviceStatus
from contracts.registry import SpaceRef
from server.exceptions import QueryError

TAGS: Final = ("building", "floor", "zone", "space", "space_kind", "device")
Aggregation = Literal["mean", "min", "max", "sum", "count", "first", "last"]
AGGREGATIONS: Final = ("mean", "min", "max", "sum", "count", "first", "last")
FieldValue = float | int | str
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


# Written by the server itself, not by devices: one point per finished booking, at its
# end, tagged with the desk's place (device tag "booking").
BOOKING_FIELDS: Final = frozenset({"outcome", "booking_id", "booked_h", "attended_h"})


def stream_fields(stream: str) -> frozenset[str]:
    """The queryable fields of a stream's measurement."""
    if stream == "booking":
        return BOOKING_FIELDS
    model = DeviceStatus if stream == "status" else UPLINK_MODELS.get(stream)
    if model is None:
        known = ", ".join((*BATCH_STREAMS, "booking"))
        raise QueryError(f"unknown stream {stream!r}; expected one of {known}")
    return frozenset(model.model_fields) - {"v", "ts"} | {"ts_gateway"}


def check_query(stream: str, fieldname: str | None = None) -> None:
    """Refuse unknown streams and fields before they reach a query language."""
    fields = stream_fields(stream)
    if fieldname is not None and (fieldname not in fields or not _IDENT.match(fieldname)):
        raise QueryError(
            f"stream {stream!r} has no field {fieldname!r}; fields: {', '.join(sorted(fields))}"
        )


@dataclass(frozen=True, slots=True)
class StoredReading:
    """One reading as a store keeps it."""

    stream: str
    ts_ms: int
    device: str
    space: SpaceRef | None
    fields: Mapping[str, FieldValue]

    def tags(self) -> dict[str, str]:
        """Tag values; absent space parts are omitted."""
        tags = {"device": self.device}
        if self.space is not None:
            tags.update(self.space.model_dump())
        return tags


@dataclass(frozen=True, slots=True)
class Refused:
    """A reading the store would not take (``index`` into the written sequence), and why."""

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class SpaceFilter:
    """Equality filters on tags; ``None`` means any."""

    building: str | None = None
    floor: str | None = None
    zone: str | None = None
    space: str | None = None
    device: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """The tags that are set, as (tag, value) pairs."""
        return [
            (k, v)
            for k in ("building", "floor", "zone", "space", "device")
            if (v := getattr(self, k)) is not None
        ]


ANYWHERE: Final = SpaceFilter()


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The newest value of a field in one space."""

    space: str
    ts_ms: int
    value: FieldValue
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WindowValue:
    """An aggregate over one window starting at ``start_ms``."""

    start_ms: int
    value: float


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range [start, end) cut into windows of ``every``.

    ``offset`` shifts the window boundaries, so a day can start at local midnight (WITA:
    ``offset=timedelta(hours=-8)``).
    """

    start_ms: int
    end_ms: int
    every: timedelta
    offset: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise QueryError("end must be after start")
        if self.every < timedelta(seconds=1):
            raise QueryError("window must be at least 1 second")
        if (self.end_ms - self.start_ms) // self.every_ms > 100_000:
            raise QueryError("too many windows: use a longer window or a shorter range")

    @property
    def every_ms(self) -> int:
        """Window length in ms."""
        return int(self.every.total_seconds() * 1000)

    @property
    def offset_ms(self) -> int:
        """Offset of window boundaries from the epoch, normalised to [0, every)."""
        return int(self.offset.total_seconds() * 1000) % self.every_ms


@dataclass(frozen=True, slots=True)
class RawPoint:
    """One stored reading as read back: time, device, place tags and the asked fields."""

    ts_ms: int
    device: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]


# Hourly rollups, one row per (kind, hour, device, key): "energy" per meter circuit (key is
# the circuit), "env" per room, "presence" per desk. Fields are sums (additive over hours
# and places) except those ending in _max or _min.
ROLLUP_KINDS: Final = ("energy", "env", "presence")
ROLLUP_TAGS: Final = (*TAGS, "key")
HOUR_MS: Final = 3_600_000
RollupAgg = Literal["sum", "max", "min"]


@dataclass(frozen=True, slots=True)
class Rollup:
    """One hour of one device (and circuit) in one of ROLLUP_KINDS."""

    kind: str
    hour_ms: int
    device: str
    key: str
    tags: Mapping[str, str]
    fields: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class RollupRow:
    """Aggregated rollups of one window and one group (the asked tags' values)."""

    start_ms: int
    group: dict[str, str]
    values: dict[str, float]


def check_rollup_query(kind: str, values: Mapping[str, RollupAgg], by: Sequence[str]) -> None:
    """Refuse unknown kinds, field names and grouping tags before they reach a query."""
    if kind not in ROLLUP_KINDS:
        raise QueryError(f"unknown rollup {kind!r}; expected one of {', '.join(ROLLUP_KINDS)}")
    for name, agg in values.items():
        if not _IDENT.match(name) or agg not in ("sum", "max", "min"):
            raise QueryError(f"bad rollup field {name!r} ({agg})")
    for tag in by:
        if tag not in ROLLUP_TAGS:
            raise QueryError(f"cannot group by {tag!r}; expected some of {', '.join(ROLLUP_TAGS)}")


class ReadingStore(Protocol):
    """Where readings are written and queried."""

    async def write(self, readings: Sequence[StoredReading]) -> list[Refused]:
        """Store readings; writing the same reading twice stores it once.

        A reading the store refuses for its content is returned, and every other one is
        stored. StoreError means the store could not be reached or failed as a whole (some
        readings may be stored: writing them again is harmless).
        """

    async def latest(
        self, *, stream: str, field: str, where: SpaceFilter = ANYWHERE
    ) -> list[LatestValue]:
        """Newest value of ``field`` per space, sorted by space."""

    async def series(
        self,
        *,
        stream: str,
        field: str,
        agg: Aggregation,
        window: Window,
        where: SpaceFilter = ANYWHERE,
    ) -> list[WindowValue]:
        """``agg`` of ``field`` per window; windows without readings are left out."""

    async def counts(
        self, *, stream: str, window: Window, where: SpaceFilter = ANYWHERE
    ) -> list[WindowValue]:
        """Number of readings per window; windows without readings are left out."""

    async def points(
        self,
        *,
        stream: str,
        fields: Sequence[str],
        start_ms: int,
        end_ms: int,
        where: SpaceFilter = ANYWHERE,
    ) -> list[RawPoint]:
        """Raw readings in [start, end) with the asked fields, ordered by device and time."""

    async def write_rollups(self, rows: Sequence[Rollup]) -> None:
        """Store hourly rollups; a row for the same kind, hour, device and key replaces it."""

    async def rollups(
        self,
        *,
        kind: str,
        values: Mapping[str, RollupAgg],
        window: Window,
        where: SpaceFilter = ANYWHERE,
        by: Sequence[str] = (),
    ) -> list[RollupRow]:
        """Rollups aggregated per window and per group of the ``by`` tags."""

    async def expire(self, before_ms: int) -> int | None:
        """Delete raw readings older than ``before_ms``; how many went (None: not counted).

        Rollups and the server's own "booking" stream stay.
        """

    async def expire_rollups(self, kind: str, before_ms: int) -> int | None:
        """Delete hourly rollups of ``kind`` older than ``before_ms``; how many (None: unknown)."""

    async def census(self) -> dict[str, int]:
        """How many points each stream and rollup kind holds (keys: the store's own names).

        What a backup's manifest keeps and a restore checks.
        """

    async def ping(self) -> None:
        """Raise StoreError when the store cannot be reached."""

    async def close(self) -> None:
        """Release connections."""
