"""One contract suite, run against both reading-store backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.registry import SpaceRef
from server.exceptions import QueryError
from server.readings.store import ReadingStore, SpaceFilter, StoredReading, Window

pytestmark = pytest.mark.anyio

T0 = 1_780_000_000_000 - 1_780_000_000_000 % 3_600_000  # an hour boundary in 2026
MIN = 60_000


def room(name: str, zone: str = "z1", floor: str = "f3") -> SpaceRef:
    return SpaceRef(building="kemenpan", floor=floor, zone=zone, space=name, space_kind="room")


def env(device: str, space: SpaceRef | None, seq: int, ts: int, co2: float) -> StoredReading:
    fields = {
        "co2_ppm": co2,
        "temp_c": 24.0,
        "rh_pct": 55.0,
        "boot": 1,
        "seq": seq,
        "ts_gateway": 0,
    }
    return StoredReading("env", ts, device, space, fields)


async def test_write_is_idempotent_and_latest_per_space(store: ReadingStore) -> None:
    a, b = room("r-301"), room("r-302", zone="z2")
    readings = [env("room-a", a, i, T0 + i * MIN, 500 + i) for i in range(10)]
    readings += [env("room-b", b, i, T0 + i * MIN, 900 - i) for i in range(5)]
    await store.write(readings)
    await store.write(readings[:7])  # a re-sent batch
    latest = await store.latest(stream="env", field="co2_ppm")
    assert [(v.space, v.ts_ms, v.value) for v in latest] == [
        ("r-301", T0 + 9 * MIN, 509.0),
        ("r-302", T0 + 4 * MIN, 896.0),
    ]
    assert latest[1].tags == {
        "building": "kemenpan",
        "floor": "f3",
        "zone": "z2",
        "space_kind": "room",
        "device": "room-b",
    }
    window = Window(T0, T0 + 3_600_000, timedelta(hours=1))
    counts = await store.counts(stream="env", window=window)
    assert counts[0].value == 15  # nothing stored twice


async def test_latest_filters_by_zone_and_skips_unassigned(store: ReadingStore) -> None:
    await store.write(
        [
            env("room-a", room("r-1", zone="z1"), 0, T0, 400),
            env("room-b", room("r-2", zone="z2"), 0, T0, 410),
            env("room-c", None, 0, T0, 420),
        ]
    )
    latest = await store.latest(stream="env", field="co2_ppm", where=SpaceFilter(zone="z2"))
    assert [v.space for v in latest] == ["r-2"]
    assert [v.space for v in await store.latest(stream="env", field="co2_ppm")] == ["r-1", "r-2"]


@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        ("mean", [(0, 502.0), (5, 507.0)]),
        ("min", [(0, 500.0), (5, 505.0)]),
        ("max", [(0, 504.0), (5, 509.0)]),
        ("sum", [(0, 2510.0), (5, 2535.0)]),
        ("count", [(0, 5.0), (5, 5.0)]),
        ("first", [(0, 500.0), (5, 505.0)]),
        ("last", [(0, 504.0), (5, 509.0)]),
    ],
)
async def test_series_aggregates_windows(
    store: ReadingStore, agg: str, expected: list[tuple[int, float]]
) -> None:
    # Written out of order: the store, not the arrival order, decides first and last.
    readings = [env("room-a", room("r-1"), i, T0 + i * MIN, 500 + i) for i in range(10)]
    await store.write(readings[::-1])
    window = Window(T0, T0 + 3_600_000, timedelta(minutes=5))
    got = await store.series(
        stream="env",
        field="co2_ppm",
        agg=agg,
        window=window,  # type: ignore[arg-type]
        where=SpaceFilter(space="r-1"),
    )
    assert [(int((w.start_ms - T0) / MIN), w.value) for w in got] == expected


async def test_windows_are_half_open_and_offset(store: ReadingStore) -> None:
    readings = [env("room-a", room("r-1"), i, T0 + i * 3_600_000, 400 + i) for i in range(30)]
    await store.write(readings)
    # Days that start at midnight WITA (UTC+8): boundaries at 16:00 UTC.
    window = Window(T0, T0 + 30 * 3_600_000, timedelta(days=1), offset=timedelta(hours=-8))
    got = await store.counts(stream="env", window=window)
    assert sum(w.value for w in got) == 30
    assert all((w.start_ms + 8 * 3_600_000) % 86_400_000 == 0 for w in got)
    # end is exclusive: the reading exactly at `end` is not counted.
    window = Window(T0, T0 + 10 * 3_600_000, timedelta(hours=1))
    assert len(await store.counts(stream="env", window=window)) == 10


async def test_booleans_average_into_ratios(store: ReadingStore) -> None:
    desk = SpaceRef(building="b", floor="f", zone="z", space="d-1", space_kind="desk")
    await store.write(
        [
            StoredReading(
                "presence",
                T0 + i * MIN,
                "desk-a",
                desk,
                {"occupied": i % 4 != 0, "source": "pir", "boot": 1, "seq": i, "ts_gateway": 0},
            )
            for i in range(8)
        ]
    )
    window = Window(T0, T0 + 3_600_000, timedelta(hours=1))
    got = await store.series(stream="presence", field="occupied", agg="mean", window=window)
    assert got[0].value == pytest.approx(0.75)
    latest = await store.latest(stream="presence", field="source")
    assert latest[0].value == "pir"


async def test_unknown_stream_or_field_is_refused(store: ReadingStore) -> None:
    with pytest.raises(QueryError, match="no field"):
        await store.latest(stream="env", field="co2_ppm; DROP")
    with pytest.raises(QueryError, match="unknown stream"):
        await store.latest(stream="bogus", field="x")
    with pytest.raises(QueryError, match="after start"):
        Window(T0, T0, timedelta(minutes=1))


async def test_ping(store: ReadingStore) -> None:
    await store.ping()


async def test_a_reading_the_store_cannot_hold_is_refused_alone(store: ReadingStore) -> None:
    """The issue's case: uptime 2**63 passed every check, InfluxDB refused it, and the
    whole batch was retried forever. Now the store names it and keeps the others (SQLite
    keeps fields as JSON text, so there the boot column is what overflows)."""
    big = 2**63
    beat = StoredReading(
        "heartbeat", T0 + 500, "d1", room("r1"), {"boot": big, "seq": 500, "uptime_s": big}
    )
    batch = [env("d1", room("r1"), i, T0 + i * 1000, 400.0 + i) for i in range(12)]
    batch.insert(7, beat)
    refused = await store.write(batch)
    assert [r.index for r in refused] == [7]
    assert refused[0].reason and len(refused[0].reason) <= 300
    points = await store.points(stream="env", fields=["co2_ppm"], start_ms=T0, end_ms=T0 + 60_000)
    assert [p.fields["co2_ppm"] for p in points] == [400.0 + i for i in range(12)]
    assert await store.write(batch[:7] + batch[8:]) == []  # the rest again: stored once
    assert (
        len(await store.points(stream="env", fields=["co2_ppm"], start_ms=T0, end_ms=T0 + 60_000))
        == 12
    )
