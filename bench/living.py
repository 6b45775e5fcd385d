"""The demo's lived-through days, and the occupancy report that reads them.

``smartoffice demo`` lives the last five working days and this morning through the real
services before it opens (``smartoffice.living.Past``). This measures how long that takes
for a number of desks, what it makes, and then how long the facility managers' occupancy
report (heatmaps per zone over the period, from the hourly presence rollups) takes on it.

Run: ``python -m bench.living [--desks 100 300] [--days 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from server.calendar.dates import to_ms
from server.config import ServerSettings
from server.db import Database
from server.energy.occupancy import OccupancyQuery, occupancy
from server.energy.rollup import Rollups
from server.services import build_store, rollup_config
from smartoffice import demo
from smartoffice.fleet import WITA
from smartoffice.living import Past, people_of


def one(desks: int, days: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = ServerSettings(data_dir=Path(tmp), port=1)
        passwords = {name: "x" * 12 for name, *_ in demo.PEOPLE}
        fleet, _, _ = demo._prepare(settings, desks, 1883, False, passwords)
        until = datetime.now(WITA).replace(hour=9, minute=30, second=0, microsecond=0)
        while until.weekday() >= 5:
            until -= timedelta(days=1)
        t0 = time.perf_counter()
        lived = Past(settings, fleet, demo.BUILDING, people_of(fleet)).run(days=days, until=until)
        took = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # the process so far

        async def report() -> float:
            db = Database(settings.sqlalchemy_url)
            store = build_store(settings)
            try:
                rollups = Rollups(db, store, rollup_config(settings))
                first = to_ms(until - timedelta(days=28)) // 3_600_000 * 3_600_000
                last = to_ms(until) // 3_600_000 * 3_600_000
                q = OccupancyQuery(
                    demo.BUILDING, first, last, "zone", 0.7, settings.privacy_min_group
                )
                t = time.perf_counter()
                await occupancy(db, rollups, q)
                return time.perf_counter() - t
            finally:
                await store.close()
                db.close()

        return {
            "desks": desks,
            "seconds": took,
            "bookings": lived.bookings,
            "walk_ins": lived.walk_ins,
            "readings": lived.readings,
            "peak_mib": peak / 2**20,
            "report_s": asyncio.run(report()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--desks",
        type=int,
        nargs="+",
        default=[100, 300],
        help="sizes, smallest first (the peak RSS is the process's so far)",
    )
    parser.add_argument("--days", type=int, default=5)
    args = parser.parse_args()
    print(
        "| desks | lived through in | bookings | walk-ins | readings | process peak RSS "  # noqa: T201
        "| occupancy report, 28 days by zone |"
    )
    print("|---|---|---|---|---|---|---|")  # noqa: T201
    for n in args.desks:
        r = one(n, args.days)
        print(
            f"| {n} | {r['seconds']:.1f} s | {r['bookings']:.0f} | {r['walk_ins']:.0f} "  # noqa: T201
            f"| {r['readings']:,.0f} | {r['peak_mib']:.0f} MiB | {r['report_s'] * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
