"""Ingest de-duplication and device bookkeeping on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from contracts.batch import IngestBatch
from server.db import Database, init_schema
from server.exceptions import StoreError
from server.ingest.service import IngestService
from server.metrics import ServerMetrics
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import StoredReading
from server.registry.models import Device
from server.registry.service import add_gateway, import_doc, parse_doc

pytestmark = pytest.mark.anyio


class FlakyStore(SQLiteReadingStore):
    """The real SQLite store, made to fail on demand like an unreachable InfluxDB."""

    fail = False

    async def write(self, readings: Any) -> None:
        if self.fail:
            raise StoreError("store down")
        await super().write(readings)


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[IngestService]:
    db = Database(database_url)
    init_schema(db.engine)
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
    assert "must not repeat" in reasons[2]
    assert "stream" in reasons[3]
    assert "device: Field required" in reasons[4]
    assert reasons[5] == "seq: required"
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
