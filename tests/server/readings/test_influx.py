"""InfluxDB backend options on a real influxd: user/password auth, retention policy, precision."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.registry import SpaceRef
from harness.services import Service, influxd, running
from server.exceptions import StoreError
from server.readings.influx import InfluxReadingStore
from server.readings.store import StoredReading

pytestmark = pytest.mark.anyio
ROOM = SpaceRef(building="b", floor="f", zone="z", space="r-1", space_kind="room")
# Inside the 1 h retention policy the test writes to.
T0 = int(time.time() * 1000) - 600_000


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running(influxd(Path(tmp_path_factory.mktemp("influx-auth")), auth=True)) as svc:
        q = "CREATE USER admin WITH PASSWORD 'pw-0123456789' WITH ALL PRIVILEGES"
        httpx.post(f"{svc.url}/query", data={"q": q}).raise_for_status()
        for q in (
            'CREATE DATABASE "so"',
            'CREATE RETENTION POLICY "short" ON "so" DURATION 1h REPLICATION 1',
        ):
            r = httpx.post(f"{svc.url}/query", data={"q": q}, auth=("admin", "pw-0123456789"))
            assert "error" not in r.text, r.text
        yield svc


async def influxql(svc: Service, q: str, epoch: str = "ms") -> dict[str, Any]:
    async with httpx.AsyncClient(auth=("admin", "pw-0123456789")) as http:
        r = await http.get(f"{svc.url}/query", params={"db": "so", "epoch": epoch, "q": q})
        return dict(r.json())


def reading(seq: int) -> StoredReading:
    return StoredReading(
        "env",
        T0 + seq,
        "room-a",
        ROOM,
        {
            "co2_ppm": 500.0 + seq,
            "temp_c": 22.0,
            "rh_pct": 50.0,
            "boot": 1,
            "seq": seq,
            "ts_gateway": False,
        },
    )


async def test_without_credentials_the_store_says_so(secured: Service) -> None:
    store = InfluxReadingStore(url=secured.url, database="so")
    try:
        with pytest.raises(StoreError, match="401"):
            await store.write([reading(0)])
    finally:
        await store.close()


async def test_user_password_retention_policy_and_ms_precision(secured: Service) -> None:
    store = InfluxReadingStore(
        url=secured.url,
        database="so",
        retention_policy="short",
        precision="ms",
        username="admin",
        password="pw-0123456789",
    )
    try:
        await store.write([reading(0), reading(1)])
        latest = await store.latest(stream="env", field="co2_ppm")
        assert [(v.space, v.ts_ms, v.value) for v in latest] == [("r-1", T0 + 1, 501.0)]
    finally:
        await store.close()
    rows = await influxql(secured, 'SELECT "seq" FROM "short"."env"', epoch="ns")
    times = [v[0] for v in rows["results"][0]["series"][0]["values"]]
    assert times == [T0 * 1_000_000, (T0 + 1) * 1_000_000]  # whole milliseconds
    default_rp = await influxql(secured, 'SELECT "seq" FROM "autogen"."env"', epoch="ms")
    assert "series" not in default_rp["results"][0]


async def test_ns_precision_keeps_same_millisecond_readings_apart(secured: Service) -> None:
    store = InfluxReadingStore(
        url=secured.url,
        database="so",
        retention_policy="short",
        username="admin",
        password="pw-0123456789",
    )
    same_ms = [
        StoredReading(
            "people", T0, "room-a", ROOM, {"count": n, "boot": 1, "seq": n, "ts_gateway": True}
        )
        for n in range(3)
    ]
    try:
        await store.write(same_ms)
    finally:
        await store.close()
    rows = await influxql(secured, 'SELECT "count" FROM "short"."people"', epoch="ns")
    values = rows["results"][0]["series"][0]["values"]
    assert [v[1] for v in values] == [0, 1, 2]
    assert {v[0] // 1_000_000 for v in values} == {T0}


async def test_a_cut_short_answer_is_refused_not_undercounted(tmp_path: Path) -> None:
    with running(influxd(tmp_path / "influx", max_rows=5)) as svc:
        store = InfluxReadingStore(url=svc.url, database="cut")
        await store.create_database()
        fields = {"co2_ppm": 500.0, "temp_c": 24.0, "rh_pct": 50.0, "boot": 1, "ts_gateway": 0}
        await store.write(
            [
                StoredReading("env", T0 + i * 1000, "room-1", ROOM, {**fields, "seq": i})
                for i in range(10)
            ]
        )
        with pytest.raises(StoreError, match="partial result"):
            await store.points(stream="env", fields=["co2_ppm"], start_ms=T0, end_ms=T0 + 60_000)
        await store.close()
