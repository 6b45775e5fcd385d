"""Booking API under load: availability of a 500-desk floor, and a mixed workload.

Starts the real server (``python -m smartoffice server``) on SQLite, or on PostgreSQL
with ``--database-url``, imports a building whose floor has 500 desks, creates 200
employees, and books half the floor for the day. Then, with ``--concurrency`` clients
(httpx, asyncio, in a separate process from the server):

1. availability: GET /api/v1/availability for the whole floor, repeatedly: latency
   percentiles and requests/s;
2. mixed: 70 % availability, 20 % new bookings (random desk and hour; conflicts are
   normal answers), 10 % "my bookings": requests/s and latency per kind.

Run: ``python -m bench.bookings [--seconds 30] [--concurrency 32] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from harness.calendar import next_workday
from harness.platform import Platform
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.db import Database, init_schema
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout

WITA = ZoneInfo("Asia/Makassar")
B = "bench-tower"
DESKS = 500
USERS = 200
PASSWORD = "bench-password-123"


def layout() -> dict[str, Any]:
    desks = [
        {
            "id": f"m{i:03d}",
            "zone": "l1-a" if i < 250 else "l1-b",
            "x": 1 + (i % 50),
            "y": 1 + i // 50,
            "monitor": i % 2 == 0,
            "standing": i % 7 == 0,
        }
        for i in range(DESKS)
    ]
    return {
        "building": {"id": B, "name": "Bench Tower"},
        "floors": [
            {
                "id": "l1",
                "name": "Lantai 1",
                "level": 1,
                "width": 60,
                "height": 20,
                "zones": [{"id": "l1-a", "name": "A"}, {"id": "l1-b", "name": "B"}],
                "desks": desks,
            }
        ],
    }


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


async def run_load(
    url: str, tokens: list[str], day: date, seconds: float, concurrency: int, mixed: bool
) -> dict[str, list[float]]:
    lat: dict[str, list[float]] = {"availability": [], "book": [], "mine": [], "errors": []}
    stop = time.monotonic() + seconds
    params = {"building": B, "floor": "l1", "start": f"{day}T09:00", "end": f"{day}T17:00"}

    async def worker(n: int) -> None:
        rnd = random.Random(n)
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
            while time.monotonic() < stop:
                kind = "availability"
                if mixed:
                    r = rnd.random()
                    kind = "availability" if r < 0.7 else "book" if r < 0.9 else "mine"
                t = time.perf_counter()
                if kind == "availability":
                    resp = await client.get("/api/v1/availability", params=params)
                elif kind == "book":
                    hour = rnd.randint(7, 17)
                    body = {
                        "building": B,
                        "desk": f"m{rnd.randrange(DESKS):03d}",
                        "start": f"{day}T{hour:02d}:00",
                        "end": f"{day}T{hour + 1:02d}:00",
                    }
                    resp = await client.post("/api/v1/bookings", json=body)
                else:
                    resp = await client.get("/api/v1/bookings")
                elapsed = time.perf_counter() - t
                refused = kind == "book" and resp.status_code in (409, 422)
                ok = resp.status_code < 300 or refused
                lat[kind if ok else "errors"].append(elapsed)

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return lat


def report(title: str, lat: dict[str, list[float]], seconds: float) -> None:
    total = sum(len(v) for k, v in lat.items() if k != "errors")
    print(f"\n{title}: {total / seconds:,.0f} requests/s, {len(lat['errors'])} errors")
    for kind, values in lat.items():
        if kind != "errors" and values:
            mean = statistics.mean(values) * 1000
            print(
                f"  {kind:13} n={len(values):6}  p50 {pct(values, 0.5):6.1f} ms  "
                f"p99 {pct(values, 0.99):6.1f} ms  mean {mean:6.1f} ms"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--workload", choices=("both", "availability", "mixed"), default="both")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ikn-bench-bookings-"))
    env = {"SMARTOFFICE_DATABASE_URL": args.database_url} if args.database_url else {}
    p = Platform(work, env, gateway_id="gw-bench")
    p.register([], building=B)
    db = Database(p.database_url)
    init_schema(db.engine)
    day = next_workday()
    with db.session() as s:
        import_layout(s, parse_layout(layout()))
        for i in range(USERS):
            create_user(
                s,
                actor="bench",
                new=UserCreate(username=f"asn{i:03d}", password=PASSWORD, display_name=f"ASN {i}"),
            )
    db.close()
    policy = {"max_per_day": 24, "max_per_week": 100, "min_minutes": 30}
    p.start_server()
    try:
        assert p.server is not None
        url = p.server.url
        assert p.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=policy).is_success
        tokens = []
        for i in range(USERS):
            login = {"username": f"asn{i:03d}", "password": PASSWORD}
            resp = httpx.post(f"{url}/api/v1/auth/token", data=login, timeout=60)
            tokens.append(resp.json()["access_token"])
        for i in range(DESKS // 2):  # half the floor booked for the day
            auth = {"Authorization": f"Bearer {tokens[i % USERS]}"}
            body = {
                "building": B,
                "desk": f"m{i * 2:03d}",
                "start": f"{day}T08:00",
                "end": f"{day}T09:00",
            }
            httpx.post(f"{url}/api/v1/bookings", headers=auth, json=body, timeout=60)
        db_name = "PostgreSQL" if args.database_url else "SQLite"
        clients = args.concurrency
        print(f"{db_name}; {DESKS} desks on one floor, {USERS} users, {clients} clients, {day}")
        if args.workload in ("both", "availability"):
            lat = asyncio.run(run_load(url, tokens, day, args.seconds, clients, False))
            report("availability of the whole floor", lat, args.seconds)
        if args.workload in ("both", "mixed"):
            lat = asyncio.run(run_load(url, tokens, day, args.seconds, clients, True))
            report("mixed (70 % availability, 20 % book, 10 % my bookings)", lat, args.seconds)
    finally:
        p.stop()


if __name__ == "__main__":
    main()
