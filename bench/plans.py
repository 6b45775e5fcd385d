"""Work plans at a campus's size: desks booked for everyone's plans, and the forecast.

A campus of ``--towers`` towers (one floor of 250 desks per 250 people, in zones of 50), with
``--people`` people in all, each with a work plan: three to five office days a week (their
unit's team day among them), a preferred zone for a third of them, a few days of leave, and
their office days booked ``--ahead`` days ahead. Measured on SQLite and on PostgreSQL (a
private server, started here):

- ``follow_all``: every plan's office days booked through the booking service (its rules,
  audit and confirmation), from nothing: the day the feature is turned on;
- the same run again, with nothing left to do (the job's every-ten-minutes cost);
- the forecast of every tower for the next 14 days (what the energy engine and the
  managers' page read), and of one tower for one day (the engine's every minute).

Run: ``python -m bench.plans [--people 10000] [--towers 16] [--ahead 14] [--engine both]``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from harness.calendar import office_hours
from harness.services import postgres, running
from server.agencies.models import Agency
from server.auth.models import User
from server.bookings.models import Booking, DeskLive
from server.clock import WITA
from server.db import Database, init_schema
from server.plans.follow import follow_all
from server.plans.forecast import forecast
from server.plans.models import PlanDay, WorkPlan
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from server.spaces.models import Desk, Zone

DESKS_PER_ZONE = 50


def tower(code: str, agency: str, desks: int) -> dict[str, Any]:
    """A tower whose one floor of ``desks`` desks is ``agency``'s, in zones of fifty."""
    zones = [f"{code}-z{z}" for z in range(max(1, desks // DESKS_PER_ZONE))]
    return {
        "building": {"id": code, "name": code.upper()},
        "floors": [
            {
                "id": f"{code}-l1",
                "name": "Lantai 1",
                "level": 1,
                "width": 200,
                "height": 200,
                "agency": agency,
                "zones": [{"id": z, "name": z} for z in zones],
                "desks": [
                    {
                        "id": f"{code}-m{i:04d}",
                        "zone": zones[i // DESKS_PER_ZONE % len(zones)],
                        "x": i % 190 + 1,
                        "y": i // 190 + 1,
                    }
                    for i in range(desks)
                ],
                "rooms": [],
            }
        ],
    }


def fill(db: Database, people: int, towers: int, ahead: int, today: datetime) -> list[str]:
    """The campus, its people and their plans; the towers' ids."""
    rnd = random.Random(25)
    per = people // towers
    codes = [f"t{t:02d}" for t in range(towers)]
    now = int(time.time() * 1000)
    with db.session() as s:
        for code in codes:
            s.add(Agency(id=f"ag-{code}", name=f"Instansi {code}", created_ms=now))
        s.flush()
        for code in codes:
            import_layout(s, parse_layout(tower(code, f"ag-{code}", per)))
            s.add(office_hours(code))
        s.execute(
            insert(User),
            [
                {
                    "username": f"asn{i:05}",
                    "display_name": f"ASN {i}",
                    "role": "employee",
                    "source": "local",
                    "active": True,
                    "created_ms": now,
                    "agency_id": f"ag-{codes[min(i // per, towers - 1)]}",
                    "team": f"unit-{i % 8}",
                }
                for i in range(people)
            ],
        )
        ids = list(s.scalars(select(User.id).order_by(User.id)))
        zones = {z.code: z.id for z in s.scalars(select(Zone).where(Zone.kind == "hvac"))}
        plans, days = [], []
        for n, uid in enumerate(ids):
            office = rnd.randint(3, 5)
            team_day = n % 8 % 5
            week = ["home"] * 5
            for d in [team_day, *rnd.sample([x for x in range(5) if x != team_day], office - 1)]:
                week[d] = "office"
            code = codes[min(n // per, towers - 1)]
            prefer = rnd.random() < 1 / 3
            plans.append(
                {
                    "user_id": uid,
                    "week": ",".join([*week, "", ""]),
                    "zone_id": zones[f"{code}-z{rnd.randrange(max(1, per // DESKS_PER_ZONE))}"]
                    if prefer
                    else None,
                    "book_ahead_days": ahead,
                    "updated_ms": now,
                }
            )
            if rnd.random() < 0.05:
                off = today.date() + timedelta(days=rnd.randrange(ahead))
                days.append(
                    {"user_id": uid, "day": off.isoformat(), "place": "leave", "updated_ms": now}
                )
        s.execute(insert(WorkPlan), plans)
        if days:
            s.execute(insert(PlanDay), days)
        # Each desk's sensor has reported: its live state is kept, as in a building running.
        s.execute(
            insert(DeskLive),
            [
                {"desk_id": d, "occupied": False, "since_ms": now, "updated_ms": now, "led": "off"}
                for d in s.scalars(select(Desk.id))
            ],
        )
    return codes


def run(url: str, label: str, args: argparse.Namespace) -> None:
    """Fill a fresh database at ``url`` and time the runs."""
    db = Database(url)
    init_schema(db.engine)
    # A Monday before the opening, so that every day ahead is still to come.
    now = datetime.now(WITA).replace(hour=6, minute=0, second=0, microsecond=0)
    now += timedelta(days=(7 - now.weekday()) % 7 or 7)
    codes = fill(db, args.people, args.towers, args.ahead, now)
    if args.forecast_only:
        _forecasts(db, codes, now, label, args)
        return
    started = time.perf_counter()
    done = follow_all(db, now=now)
    first = time.perf_counter() - started
    with db.session(commit=False) as s:
        made = s.scalar(select(func.count()).select_from(Booking)) or 0
    started = time.perf_counter()
    again = follow_all(db, now=now)
    second = time.perf_counter() - started
    print(
        f"{label}: {args.people} people, {args.towers} towers, {args.ahead} days ahead\n"
        f"  follow_all from nothing   {first:8.1f} s  {len(done.booked)} desks booked "
        f"({made} rows), {len(done.failed)} days unbooked, {made / first:6.0f} bookings/s\n"
        f"  follow_all again          {second:8.2f} s  {len(again.booked)} booked"
    )
    _forecasts(db, codes, now, label, args)


def _forecasts(
    db: Database, codes: list[str], now: datetime, label: str, args: argparse.Namespace
) -> None:
    """Time the forecast of the whole campus (14 days) and of one tower (today)."""
    started = time.perf_counter()
    with db.session(commit=False) as s:
        expected = 0.0
        for code in codes:
            days = forecast(s, building=code, first=now.date(), days=14)
            expected += sum(z.expected for zones in days.values() for z in zones.values())
    campus = time.perf_counter() - started
    started = time.perf_counter()
    with db.session(commit=False) as s:
        forecast(s, building=codes[0], first=now.date(), days=1)
    one = time.perf_counter() - started
    print(
        f"{label}: forecast of {len(codes)} towers, {args.people} people\n"
        f"  forecast, campus, 14 days {campus:8.3f} s  ({expected:.0f} person-days expected)\n"
        f"  forecast, a tower, today  {one * 1000:8.1f} ms"
    )
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=10_000)
    ap.add_argument("--towers", type=int, default=16)
    ap.add_argument("--ahead", type=int, default=14)
    ap.add_argument("--engine", choices=("both", "sqlite", "postgres"), default="both")
    ap.add_argument(
        "--forecast-only", action="store_true", help="Time the forecast only (no bookings)."
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ikn-bench-plans-"))
    if args.engine in ("both", "sqlite"):
        run(f"sqlite:///{work / 'plans.db'}", "SQLite", args)
    if args.engine in ("both", "postgres"):
        with running(postgres(work / "pg")) as pg:
            url = f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/postgres"
            run(url, "PostgreSQL", args)


if __name__ == "__main__":
    main()
