"""What energy accounting costs, on either reading store.

Rolling up a day of raw meter readings, and answering a year's summary from hourly rollups.

A building of ``--floors`` floors with two zones each, every zone metered on three circuits
(lighting, HVAC, plugs) and a desk sensor per desk. Measured:

- writing one day of raw readings (a meter every 30 s, a desk every 5 min);
- rolling that day up (energy, climate and presence: read raw, compute, write rollups);
- the day's summary straight from raw readings (what an un-rolled period costs);
- writing a year of hourly energy rollups for the same meters;
- the year's summary per month and floor, and per day, from those rollups.

Run: ``python -m bench.energy [--floors 10] [--desks-per-zone 25] [--backend sqlite|influx]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from contracts.registry import SpaceRef
from harness.services import influxd, running
from server.db import Database, init_schema
from server.energy.models import RollupState
from server.energy.rollup import RollupConfig, Rollups
from server.energy.summary import Scope, summarise
from server.readings.influx import InfluxReadingStore
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import ReadingStore, Rollup, StoredReading
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout

WITA = ZoneInfo("Asia/Makassar")
B = "bench-energy"
H = 3_600_000
CIRCUITS = (("lighting", 1200.0), ("hvac", 4000.0), ("plugs", 600.0))


def layout(floors: int, desks: int) -> dict[str, Any]:
    out = []
    for f in range(1, floors + 1):
        zones = [f"f{f}-n", f"f{f}-s"]
        out.append(
            {
                "id": f"f{f}",
                "name": f"Lantai {f}",
                "level": f,
                "width": 100,
                "height": 40,
                "zones": [{"id": z, "name": z} for z in zones],
                "desks": [
                    {"id": f"{z}-{d:03d}", "zone": z, "x": d % 50, "y": d // 50}
                    for z in zones
                    for d in range(desks)
                ],
            }
        )
    return {"building": {"id": B, "name": "Bench"}, "floors": out}


def day_of_readings(floors: int, desks: int, d0: int) -> list[StoredReading]:
    out = []
    for f in range(1, floors + 1):
        for z in (f"f{f}-n", f"f{f}-s"):
            zone = SpaceRef(building=B, floor=f"f{f}", zone=z, space=z, space_kind="zone")
            for c, (circuit, watts) in enumerate(CIRCUITS):
                counter = 1000.0
                for i, ts in enumerate(range(d0, d0 + 24 * H, 30_000)):
                    out.append(
                        StoredReading(
                            "energy",
                            ts,
                            f"em-{z}-{c}",
                            zone,
                            {
                                "power_w": watts,
                                "energy_wh": float(int(counter)),
                                "circuit": circuit,
                                "boot": 1,
                                "seq": i,
                                "ts_gateway": 0,
                            },
                        )
                    )
                    counter += watts * 30 / 3600
            for d in range(desks):
                desk = SpaceRef(
                    building=B, floor=f"f{f}", zone=z, space=f"{z}-{d:03d}", space_kind="desk"
                )
                for i, ts in enumerate(range(d0, d0 + 24 * H, 300_000)):
                    here = 9 * 12 <= i < 17 * 12 and d % 3
                    out.append(
                        StoredReading(
                            "presence",
                            ts,
                            f"desk-{z}-{d:03d}",
                            desk,
                            {
                                "occupied": int(bool(here)),
                                "source": "pir",
                                "boot": 1,
                                "seq": i,
                                "ts_gateway": 0,
                            },
                        )
                    )
    return out


def year_of_rollups(floors: int, first: int) -> list[Rollup]:
    out = []
    for f in range(1, floors + 1):
        for z in (f"f{f}-n", f"f{f}-s"):
            tags = {"building": B, "floor": f"f{f}", "zone": z, "space": z, "space_kind": "zone"}
            for c, (circuit, watts) in enumerate(CIRCUITS):
                for h in range(366 * 24):
                    fields = {"wh": watts, "wh_est": 0.0, "covered_s": 3600.0}
                    out.append(
                        Rollup("energy", first + h * H, f"em-{z}-{c}", circuit, tags, fields)
                    )
    return out


async def timed(label: str, make: Callable[[], Awaitable[Any]], runs: int = 1) -> Any:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await make()
        times.append(time.perf_counter() - started)
    extra = f"  (median of {runs})" if runs > 1 else ""
    print(f"{label:62} {statistics.median(times):8.3f} s{extra}", flush=True)
    return result


async def bench(store: ReadingStore, db: Database, floors: int, desks: int) -> None:
    today = datetime.now(WITA).replace(hour=0, minute=0, second=0, microsecond=0)
    d0 = int((today - timedelta(days=2)).timestamp() * 1000)
    raw = day_of_readings(floors, desks, d0)
    meters = floors * 2 * len(CIRCUITS)
    print(
        f"{floors} floors, {meters} meters, {floors * 2 * desks} desk sensors; "
        f"{len(raw):,} raw readings a day",
        flush=True,
    )
    await timed("write one day of raw readings", lambda: store.write(raw))
    rollups = Rollups(db, store, RollupConfig(), clock=lambda: (d0 + 25 * H) / 1000)
    day = Scope(
        building=B,
        start=datetime.fromtimestamp(d0 / 1000, WITA),
        end=datetime.fromtimestamp((d0 + 24 * H) / 1000, WITA),
        every="1h",
        by="floor",
    )
    now = d0 + 25 * H
    await timed(
        "summary of that day from raw readings (per hour, floor)",
        lambda: summarise(scope=day, db=db, rollups=rollups, now_ms=now),
    )
    n = await timed("roll that day up (energy, presence)", lambda: rollups.roll(B, since_ms=d0))
    print(f"{'':62} {n:,} rollup rows")
    again = lambda: summarise(scope=day, db=db, rollups=rollups, now_ms=now)  # noqa: E731
    await timed("the same summary from rollups", again, runs=5)
    first = d0 - 400 * 24 * H
    year = year_of_rollups(floors, first)
    await timed(
        f"write a year of hourly rollups ({len(year):,} rows)", lambda: store.write_rollups(year)
    )
    with db.session() as s:
        state = s.get(RollupState, B)
        assert state is not None
        state.done_until_ms = d0 + 24 * H
    span = Scope(
        building=B,
        start=datetime.fromtimestamp(first / 1000, WITA),
        end=datetime.fromtimestamp((first + 365 * 24 * H) / 1000, WITA),
    )
    for every, by in (("1mo", "floor"), ("1d", "building"), ("1mo", "circuit")):
        scope = Scope(building=B, start=span.start, end=span.end, every=every, by=by)  # type: ignore[arg-type]
        await timed(
            f"a year's summary per {every} and {by} from rollups",
            lambda s=scope: summarise(scope=s, db=db, rollups=rollups, now_ms=now),
            runs=3,
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--floors", type=int, default=10)
    ap.add_argument("--desks-per-zone", type=int, default=25)
    ap.add_argument("--backend", choices=("sqlite", "influx"), default="sqlite")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ikn-bench-energy-"))
    db = Database(f"sqlite:///{work / 'smartoffice.db'}")
    init_schema(db.engine)
    with db.session() as s:
        import_layout(s, parse_layout(layout(args.floors, args.desks_per_zone)))

    async def run(store: ReadingStore) -> None:
        if isinstance(store, InfluxReadingStore):
            await store.create_database()
        try:
            await bench(store, db, args.floors, args.desks_per_zone)
        finally:
            await store.close()

    if args.backend == "sqlite":
        asyncio.run(run(SQLiteReadingStore(work / "readings.db")))
    else:
        with running(influxd(work / "influx")) as ix:
            store = InfluxReadingStore(
                url=f"http://127.0.0.1:{ix.port}",
                database="bench",
                rollup_retention_policy="forever",
            )
            asyncio.run(run(store))
    db.close()


if __name__ == "__main__":
    main()
