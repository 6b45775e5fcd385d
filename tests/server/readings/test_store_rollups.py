"""Raw points, hourly rollups and expiry, on both reading-store backends."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from contracts.registry import SpaceRef
from harness.services import Service
from server.exceptions import QueryError
from server.readings.influx import InfluxReadingStore
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import ReadingStore, Rollup, SpaceFilter, StoredReading, Window

pytestmark = pytest.mark.anyio

H = 3_600_000
T0 = 1_780_000_000_000 - 1_780_000_000_000 % (24 * H)  # midnight UTC, 08:00 WITA


def zone(z: str, floor: str = "f1") -> SpaceRef:
    return SpaceRef(building="b1", floor=floor, zone=z, space=z, space_kind="zone")


def energy(device: str, seq: int, ts: int, wh: float, circuit: str) -> StoredReading:
    fields = {
        "power_w": 500.0,
        "energy_wh": wh,
        "circuit": circuit,
        "boot": 1,
        "seq": seq,
        "ts_gateway": 0,
    }
    return StoredReading("energy", ts, device, zone("z1"), fields)


def rollup(hour: int, device: str, key: str, z: str, floor: str, wh: float) -> Rollup:
    tags = {"building": "b1", "floor": floor, "zone": z, "space": z, "space_kind": "zone"}
    return Rollup("energy", hour, device, key, tags, {"wh": wh, "p_max": wh / 2})


async def test_points_come_back_per_device_in_time_order(store: ReadingStore) -> None:
    await store.write(
        [
            energy("em-2", 1, T0 + 60_000, 10.0, "hvac"),
            energy("em-1", 2, T0 + 120_000, 7.0, "lighting"),
            energy("em-1", 1, T0 + 60_000, 5.0, "lighting"),
            energy("em-1", 3, T0 + H, 9.0, "lighting"),
        ]
    )
    pts = await store.points(
        stream="energy", fields=["energy_wh", "circuit"], start_ms=T0, end_ms=T0 + H
    )
    assert [(p.device, p.ts_ms, p.fields["energy_wh"]) for p in pts] == [
        ("em-1", T0 + 60_000, 5.0),
        ("em-1", T0 + 120_000, 7.0),
        ("em-2", T0 + 60_000, 10.0),
    ]
    assert pts[0].fields["circuit"] == "lighting"
    assert pts[0].tags == {
        "building": "b1",
        "floor": "f1",
        "zone": "z1",
        "space": "z1",
        "space_kind": "zone",
    }
    with pytest.raises(QueryError):
        await store.points(stream="energy", fields=["wattage"], start_ms=T0, end_ms=T0 + H)


async def test_rollups_replace_and_aggregate_per_window_and_group(store: ReadingStore) -> None:
    rows = [
        rollup(T0 + h * H, dev, key, z, fl, wh)
        for h in range(48)
        for dev, key, z, fl, wh in (
            ("em-1", "hvac", "z1", "f1", 1000.0),
            ("em-1", "lighting", "z1", "f1", 200.0),
            ("em-2", "hvac", "z2", "f2", 500.0),
        )
    ]
    await store.write_rollups(rows)
    await store.write_rollups([rollup(T0, "em-1", "hvac", "z1", "f1", 1100.0)])  # redone hour
    day = Window(T0, T0 + 48 * H, timedelta(days=1), timedelta(hours=-8))
    by_key = await store.rollups(
        kind="energy", values={"wh": "sum", "p_max": "max"}, window=day, by=["key"]
    )
    # Days in WITA: the first starts at T0 - 8 h (00:00 WITA) and holds 16 of its hours.
    got = {(r.start_ms, r.group["key"]): r.values["wh"] for r in by_key}
    assert got == {
        (T0 - 8 * H, "hvac"): 16 * 1500 + 100,
        (T0 - 8 * H, "lighting"): 16 * 200,
        (T0 + 16 * H, "hvac"): 24 * 1500,
        (T0 + 16 * H, "lighting"): 24 * 200,
        (T0 + 40 * H, "hvac"): 8 * 1500,
        (T0 + 40 * H, "lighting"): 8 * 200,
    }
    assert max(r.values["p_max"] for r in by_key) == 550.0
    floor2 = await store.rollups(
        kind="energy",
        values={"wh": "sum"},
        window=day,
        where=SpaceFilter(floor="f2"),
        by=["zone", "device"],
    )
    assert {(r.group["zone"], r.group["device"]) for r in floor2} == {("z2", "em-2")}
    assert sum(r.values["wh"] for r in floor2) == 48 * 500
    with pytest.raises(QueryError):
        await store.rollups(kind="energy", values={"wh": "sum"}, window=day, by=["colour"])


async def test_sqlite_expires_old_raw_readings_and_keeps_rollups(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SQLiteReadingStore(tmp_path / "r.db")
    await store.write([energy("em-1", i, T0 + i * 60_000, float(i), "hvac") for i in range(100)])
    await store.write_rollups([rollup(T0, "em-1", "hvac", "z1", "f1", 99.0)])
    assert await store.expire(T0 + 40 * 60_000) == 40
    pts = await store.points(stream="energy", fields=["energy_wh"], start_ms=0, end_ms=T0 + H * 2)
    assert len(pts) == 60 and pts[0].ts_ms == T0 + 40 * 60_000
    window = Window(T0, T0 + H, timedelta(hours=1))
    kept = await store.rollups(kind="energy", values={"wh": "sum"}, window=window)
    assert kept[0].values["wh"] == 99.0
    await store.close()


async def test_influx_puts_raw_and_rollups_in_their_retention_policies(
    influxd: Service, unique_name: str
) -> None:
    store = InfluxReadingStore(
        url=f"http://127.0.0.1:{influxd.port}",
        database=unique_name,
        retention_policy="raw",
        rollup_retention_policy="forever",
        raw_retention_days=30,
    )
    await store.create_database()
    await store.create_database()  # again: the policies exist, nothing fails
    now = int(time.time() * 1000)
    hour = now - now % H
    # A reading older than the raw retention is dropped by InfluxDB; the rest is kept.
    await store.write([energy("em-1", 1, hour, 1.0, "hvac"), energy("em-1", 2, T0, 1.0, "hvac")])
    await store.write_rollups([rollup(T0, "em-1", "hvac", "z1", "f1", 5.0)])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{influxd.port}") as http:
        resp = await http.get("/query", params={"q": f'SHOW RETENTION POLICIES ON "{unique_name}"'})
        policies = {v[0]: v[1] for v in resp.json()["results"][0]["series"][0]["values"]}
        assert policies["raw"] == "720h0m0s"
        assert policies["forever"] == "0s"
        q = f'SELECT count("wh") FROM "{unique_name}"."forever"."energy_1h"'
        resp = await http.get("/query", params={"q": q})
        assert resp.json()["results"][0]["series"][0]["values"][0][1] == 1
    window = Window(T0, T0 + H, timedelta(hours=1))
    assert (await store.rollups(kind="energy", values={"wh": "sum"}, window=window))[0].values == {
        "wh": 5.0
    }
    assert (
        len(await store.points(stream="energy", fields=["energy_wh"], start_ms=T0, end_ms=now + H))
        == 1
    )
    # The retention job deletes raw readings itself too (DELETE), whichever policy holds
    # them; rollups are another measurement and stay.
    await store.write([energy("em-1", 3, hour - 2 * H, 1.0, "hvac")])
    assert await store.expire(hour - H) is None
    kept = await store.points(stream="energy", fields=["energy_wh"], start_ms=0, end_ms=now + H)
    assert [p.ts_ms for p in kept] == [hour]
    assert await store.rollups(kind="energy", values={"wh": "sum"}, window=window)
    await store.expire_rollups("energy", T0 + H)
    assert not await store.rollups(kind="energy", values={"wh": "sum"}, window=window)
    await store.close()


async def test_the_census_counts_each_stream_and_rollup_kind(store: ReadingStore) -> None:
    assert not any((await store.census()).values())
    await store.write([energy("em-1", i, T0 + i * 60_000, 1.0, "hvac") for i in range(7)])
    await store.write([energy("em-1", i, T0 + i * 60_000, 1.0, "hvac") for i in range(3)])
    await store.write_rollups(
        [rollup(T0 + h * 3_600_000, "em-1", "hvac", "z1", "f1", 5.0) for h in range(4)]
    )

    census = {k.rsplit(".", 1)[-1]: n for k, n in (await store.census()).items() if n}

    assert census == {"energy": 7, "energy_1h": 4}  # a re-sent reading is one point
