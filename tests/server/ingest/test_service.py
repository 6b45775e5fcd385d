"""Ingest de-duplication and device bookkeeping on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from contracts.batch import IngestBatch
from harness.services import Service
from server.db import Database
from server.exceptions import StoreError
from server.ingest.service import IngestService, quarantined
from server.metrics import ServerMetrics
from server.readings.influx import InfluxReadingStore
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import Refused, StoredReading
from server.registry.models import Device
from server.registry.service import add_gateway, import_doc, parse_doc

pytestmark = pytest.mark.anyio


class FlakyStore(SQLiteReadingStore):
    """The real SQLite store, made to fail on demand like an unreachable InfluxDB."""

    fail = False

    async def write(self, readings: Any) -> list[Refused]:
        if self.fail:
            raise StoreError("store down")
        return await super().write(readings)


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[IngestService]:
    db = Database(database_url)
    with db.session() as s:
        add_gateway(s, gateway_id="gw-a")
        import_doc(
            s,
            parse_doc(
                {
                    "devices": [
                        {"id": "desk-1", "kind": "desk", "gateway": "gw-a"},
                        {"id": "desk-2", "kind": "desk", "gateway": "gw-a"},
                    ]
                }
            ),
        )
    store = FlakyStore(tmp_path / "readings.db")
    yield IngestService(db=db, store=store, metrics=ServerMetrics())
    await store.close()
    db.close()


def reading(device: str, seq: int, **over: Any) -> dict[str, Any]:
    return {
        "device": device,
        "stream": "presence",
        "boot": 1,
        "seq": seq,
        "ts": 1_780_000_000_000 + seq,
        "ts_source": "device",
        "received": 1_780_000_000_500,
        "space": None,
        "data": {"occupied": True, "source": "pir"},
        **over,
    }


def batch(*readings: dict[str, Any], batch_id: str = "b") -> IngestBatch:
    return IngestBatch(v=1, gateway_id="gw-a", batch_id=batch_id, readings=list(readings))


async def stored(service: IngestService) -> list[StoredReading]:
    store = service.store
    assert isinstance(store, SQLiteReadingStore)
    rows = await store._run(
        "SELECT device, seq FROM readings WHERE stream='presence' ORDER BY device, seq", []
    )
    return rows  # type: ignore[return-value]


async def test_duplicates_within_and_across_batches(service: IngestService) -> None:
    r = await service.ingest(
        gateway_id="gw-a",
        batch=batch(reading("desk-1", 0), reading("desk-1", 1), reading("desk-1", 1)),
    )
    assert (r.accepted, r.duplicates, r.rejected) == (2, 1, 0)
    r = await service.ingest(
        gateway_id="gw-a",
        batch=batch(reading("desk-1", 1), reading("desk-1", 2), reading("desk-2", 1)),
    )
    assert (r.accepted, r.duplicates) == (2, 1)
    assert await stored(service) == [("desk-1", 0), ("desk-1", 1), ("desk-1", 2), ("desk-2", 1)]


async def test_rejections_name_index_device_and_reason(service: IngestService) -> None:
    r = await service.ingest(
        gateway_id="gw-a",
        batch=batch(
            reading("desk-1", 0),
            reading("desk-1", 1, data={"occupied": "yes", "source": "pir"}),
            reading("desk-1", 2, data={"occupied": True, "source": "pir", "seq": 9}),
            reading("desk-1", 3, stream="bogus"),
            {"nonsense": True},
            {**reading("desk-1", 5), "seq": None},
        ),
    )
    assert (r.accepted, r.rejected) == (1, 5)
    reasons = {x.index: x.reason for x in r.rejections}
    assert "occupied" in reasons[1]
    assert reasons[2].startswith("presence.data.seq: Extra inputs are not permitted")
    assert "stream" in reasons[3] and "bogus" in reasons[3]
    assert reasons[4] == "stream: Field required"
    assert reasons[5].startswith("presence.seq: Input should be a valid integer")
    assert r.rejections[0].device == "desk-1"


async def test_store_failure_commits_nothing_and_retry_stores_once(
    service: IngestService,
) -> None:
    service.store.fail = True  # type: ignore[attr-defined]
    with pytest.raises(StoreError):
        await service.ingest(gateway_id="gw-a", batch=batch(reading("desk-1", 0)))
    service.store.fail = False  # type: ignore[attr-defined]
    r = await service.ingest(gateway_id="gw-a", batch=batch(reading("desk-1", 0)))
    assert (r.accepted, r.duplicates) == (1, 0)
    assert await stored(service) == [("desk-1", 0)]


async def test_concurrent_resends_store_each_reading_once(service: IngestService) -> None:
    batches = [
        batch(*(reading("desk-1", s) for s in range(i, min(i + 50, 100))), batch_id=str(i))
        for i in range(0, 100, 10)
    ]
    sent = 2 * sum(len(b.readings) for b in batches)
    results = await asyncio.gather(
        *(service.ingest(gateway_id="gw-a", batch=b) for b in batches * 2)
    )
    assert sum(r.accepted for r in results) == 100
    assert sum(r.duplicates for r in results) == sent - 100
    assert len(await stored(service)) == 100


async def test_status_and_last_seen_update_the_device(service: IngestService) -> None:
    status = {
        "device": "desk-2",
        "stream": "status",
        "boot": 4,
        "ts": 1_780_000_001_000,
        "ts_source": "gateway",
        "received": 1_780_000_001_000,
        "space": None,
        "data": {"state": "online", "fw": "1.2.0", "kind": "desk"},
    }
    older = {**status, "ts": 1_780_000_000_000, "data": {**status["data"], "state": "offline"}}
    await service.ingest(gateway_id="gw-a", batch=batch(status, older, reading("desk-2", 0)))
    with service.db.session() as s:
        dev = s.scalar(select(Device).where(Device.id == "desk-2"))
        assert dev is not None
        assert (dev.online, dev.fw, dev.boot) == (True, "1.2.0", 4)
        assert dev.last_seen_ms == 1_780_000_001_000


def beat(device: str, seq: int, **data: Any) -> dict[str, Any]:
    fields = {
        "uptime_s": 60,
        "rssi_dbm": -60,
        "heap_free": 40_000,
        "fw": "1.1.0",
        "buffered": 0,
        "dropped": 0,
        **data,
    }
    return reading(device, seq, stream="heartbeat", data=fields)


async def test_the_poisoned_heartbeat_is_quarantined_and_the_rest_stored(
    service: IngestService,
) -> None:
    """An older gateway forwards what the contract now bounds: uptime 2**63."""
    poisoned = beat("desk-1", 0, uptime_s=2**63)
    r = await service.ingest(
        gateway_id="gw-a", batch=batch(poisoned, *(reading("desk-1", s) for s in range(1, 40)))
    )
    assert (r.accepted, r.duplicates, r.rejected) == (39, 0, 1)
    [rej] = r.rejections
    assert (rej.index, rej.kind) == (0, "invalid")
    assert "uptime_s: Input should be less than or equal to 2147483647" in rej.reason
    assert len(await stored(service)) == 39
    with service.db.session() as s:
        [q] = quarantined(s)
    assert (q.gateway_id, q.device, q.kind, q.batch_id) == ("gw-a", "desk-1", "invalid", "b")
    assert json.loads(q.reading) == poisoned
    assert service.metrics.quarantined.labels("invalid")._value.get() == 1


async def test_a_gateway_speaks_only_for_its_own_devices(service: IngestService) -> None:
    with service.db.session() as s:
        add_gateway(s, gateway_id="gw-b")
        import_doc(s, parse_doc({"devices": [{"id": "desk-9", "kind": "desk", "gateway": "gw-b"}]}))
    elsewhere = {
        "building": "kemenkeu",
        "floor": "f1",
        "zone": "z",
        "space": "d-1",
        "space_kind": "desk",
    }
    r = await service.ingest(
        gateway_id="gw-a",
        batch=batch(
            reading("desk-9", 0),  # another gateway's device
            reading("ghost-1", 0),  # never registered
            reading("desk-1", 0, space=elsewhere),  # ours, but the batch names a place
        ),
    )
    assert (r.accepted, r.rejected) == (1, 2)
    assert [(x.index, x.kind) for x in r.rejections] == [(0, "foreign"), (1, "foreign")]
    assert r.rejections[0].reason == "device 'desk-9' is not registered to gateway 'gw-a'"
    rows = await service.store._run(  # type: ignore[attr-defined]
        "SELECT device, building, space FROM readings", []
    )
    assert [tuple(row) for row in rows] == [("desk-1", None, None)]  # the registry's place
    with service.db.session() as s:
        assert {q.device for q in quarantined(s, kind="foreign")} == {"desk-9", "ghost-1"}
    # gw-b may send for desk-9.
    r = await service.ingest(
        gateway_id="gw-b",
        batch=IngestBatch(v=1, gateway_id="gw-b", batch_id="c", readings=[reading("desk-9", 0)]),
    )
    assert (r.accepted, r.rejected) == (1, 0)


async def test_a_reading_influxdb_refuses_is_quarantined_and_the_rest_stored(
    database_url: str, influxd: Service, unique_name: str
) -> None:
    """A field whose type the store already holds differently (schema drift) is refused
    by InfluxDB alone; the server says which and keeps the batch's other readings."""
    db = Database(database_url)
    with db.session() as s:
        add_gateway(s, gateway_id="gw-a")
        import_doc(s, parse_doc({"devices": [{"id": "desk-1", "kind": "desk", "gateway": "gw-a"}]}))
    url = f"http://127.0.0.1:{influxd.port}"
    store = InfluxReadingStore(url=url, database=unique_name)
    await store.create_database()
    judge = httpx.AsyncClient(base_url=url)
    # "fw" becomes an integer field in this database (and this shard of time).
    drift = "heartbeat fw=1i 1780000000000"
    resp = await judge.post("/write", params={"db": unique_name, "precision": "ms"}, content=drift)
    assert resp.status_code == 204
    service = IngestService(db=db, store=store, metrics=ServerMetrics())
    try:
        r = await service.ingest(
            gateway_id="gw-a",
            batch=batch(*(reading("desk-1", s) for s in range(30)), beat("desk-1", 30)),
        )
        assert (r.accepted, r.rejected) == (30, 1)
        [rej] = r.rejections
        assert (rej.index, rej.kind, rej.device) == (30, "store", "desk-1")
        assert "field type conflict" in rej.reason
        q = "SELECT count(seq) FROM presence"
        counted = (await judge.get("/query", params={"db": unique_name, "q": q})).json()
        assert counted["results"][0]["series"][0]["values"][0][1] == 30
        with db.session() as s:
            [q] = quarantined(s, kind="store")
        assert q.device == "desk-1" and "field type conflict" in q.reason
        # Re-sent (the gateway did not hear the answer): nothing new, nothing lost.
        again = await service.ingest(
            gateway_id="gw-a",
            batch=batch(*(reading("desk-1", s) for s in range(30)), beat("desk-1", 30)),
        )
        assert (again.accepted, again.duplicates, again.rejected) == (0, 31, 0)
    finally:
        await judge.aclose()
        await store.close()
        db.close()


async def test_a_node_that_starts_over_is_not_taken_for_its_old_self(
    service: IngestService,
) -> None:
    """Boot 1, seq 0-9 before a factory reset and again after it: 20 readings."""
    before = [reading("desk-1", s, bid=1111) for s in range(10)]
    after = [reading("desk-1", s, bid=2222, ts=1_780_000_100_000 + s) for s in range(10)]
    r = await service.ingest(gateway_id="gw-a", batch=batch(*before))
    r2 = await service.ingest(gateway_id="gw-a", batch=batch(*after, *before))
    assert (r.accepted, r2.accepted, r2.duplicates) == (10, 10, 10)
    assert len(await stored(service)) == 20


async def test_gaps_count_a_node_that_starts_over_as_a_new_boot(service: IngestService) -> None:
    """Boot 3 to seq 9; a reset node's boot 1 from seq 2 (0 and 1 lost); a straggler of boot 3."""

    async def counted() -> tuple[int | None, int | None, int | None, int]:
        with service.db.session() as s:
            dev = s.get(Device, "desk-1")
            assert dev is not None
            return dev.seq_boot, dev.seq_bid, dev.last_seq, dev.gaps

    old = [reading("desk-1", s, boot=3, bid=1111) for s in (0, 1, 2, 4, 5, 6, 7, 8, 9)]
    await service.ingest(gateway_id="gw-a", batch=batch(*old))
    assert await counted() == (3, 1111, 9, 1)  # seq 3 missing
    reset = [reading("desk-1", s, bid=2222, ts=1_780_000_100_000 + s) for s in (2, 3, 5)]
    await service.ingest(gateway_id="gw-a", batch=batch(*reset))
    assert await counted() == (1, 2222, 5, 2)  # boot 1 is the node now; seq 4 missing
    straggler = reading("desk-1", 3, boot=3, bid=1111)  # fills boot 3's gap: counts for nothing
    await service.ingest(gateway_id="gw-a", batch=batch(straggler, reading("desk-1", 4, bid=2222)))
    assert await counted() == (1, 2222, 5, 1)
    await service.ingest(gateway_id="gw-a", batch=batch(reading("desk-1", 0, boot=2, bid=3333)))
    assert await counted() == (2, 3333, 0, 1)  # an ordinary restart
