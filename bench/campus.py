"""The phase-1 campus on one machine, processes as in production, measured.

Started here, each a process of its own: PostgreSQL and InfluxDB 1.x; ``--replicas``
server replicas on them (``smartoffice server``); for each of ``--towers`` towers a
Mosquitto broker and a gateway (``smartoffice edge``) delivering to one of the replicas
(as a load balancer would spread them). The campus (``bench.plans.fill``): one agency per
tower, ``--people`` people, one desk and one desk node per person.

1. **The fleet**: every desk node reports presence every 30 s to its tower's broker
   (QoS 1, the contract's payloads), for the whole run.
2. **Live maps and kiosks**: ``--streams`` event streams (``/api/v1/events``) open on the
   replicas, spread over the towers; each desk event's arrival is timed.
3. **The morning rush**: ``--share`` of the people act as the pages do, half booking the
   next working day (the find page's data for their floor, then the booking) and half
   walking in now (the find page's data, then the desk's QR check-in). A real rush is
   ``share x people`` in an hour; here each load level runs ``--level-s`` seconds at
   that rate times 1, 2, 4, ... (``--levels``), until requests fail or p99 passes 2 s.

Figures per level: requests/s, p50/p99 of the find page's data, booking, check-in and
event delivery, errors, CPU of each replica (from /proc), and the readings stored. Then
the database's and InfluxDB's growth per reading and per booking, from their sizes.

Run: ``python -m bench.campus [--towers 16] [--people 9465] [--levels 6]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import delete, select, text, update

from bench.plans import fill
from harness.platform import smartoffice
from harness.services import Service, free_port, influxd, mosquitto, postgres, running
from server.auth.tokens import LocalTokens
from server.calendar.models import BookingPolicy
from server.clock import WITA
from server.db import Database, init_schema
from server.plans.models import PlanDay, WorkPlan
from server.registry.service import add_gateway, import_doc, parse_doc
from server.spaces.models import Desk, Zone

ROOT = Path(__file__).resolve().parents[1]
TICK_S = 30.0
FLIP = 0.01


@dataclass
class Tower:
    code: str
    desks: list[tuple[str, str, str]]  # (desk, zone, qr key)
    gateway_token: str = ""
    broker: Service | None = None
    gateway: Service | None = None


@dataclass
class Timings:
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sent: dict[str, float] = field(default_factory=dict)  # desk -> when its change was asked
    said: dict[str, str] = field(default_factory=dict)  # an error's first answer

    def p(self, what: str, q: float) -> float:
        values = sorted(self.ms.get(what, []))
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def build(db: Database, people: int, towers: int) -> list[Tower]:
    """The campus, its gateways and desk nodes, open every day and hour.

    (The rush runs whenever the benchmark does.)
    """
    today = datetime.now(WITA)
    codes = fill(db, people, towers, 14, today)
    out = []
    with db.session() as s:
        s.execute(delete(PlanDay))
        s.execute(delete(WorkPlan))  # the rush books by hand, not the plans' job
        s.execute(
            update(BookingPolicy).values(
                open_minute=0, close_minute=24 * 60, weekdays="0,1,2,3,4,5,6", max_per_week=50
            )
        )
        zones = {z.id: z.code for z in s.scalars(select(Zone))}
        for code in codes:
            desks = [
                (d.code, zones[d.zone_id], d.qr_key or "")
                for d in s.scalars(select(Desk).where(Desk.building_id == code).order_by(Desk.id))
            ]
            tower = Tower(code, desks)
            tower.gateway_token = add_gateway(s, gateway_id=f"gw-{code}", building=code)
            doc = {
                "gateways": [f"gw-{code}"],
                "devices": [
                    {
                        "id": f"node-{desk}",
                        "kind": "desk",
                        "gateway": f"gw-{code}",
                        "space": {
                            "building": code,
                            "floor": f"{code}-l1",
                            "zone": zone,
                            "space": desk,
                            "space_kind": "desk",
                        },
                    }
                    for desk, zone, _ in desks
                ],
            }
            import_doc(s, parse_doc(doc), actor="bench")
            out.append(tower)
    return out


class Fleet:
    """Every desk node's presence every 30 s, one MQTT client per tower, on a thread."""

    def __init__(self, towers: list[Tower]) -> None:
        self.towers = towers
        self.clients = []
        for t in towers:
            assert t.broker is not None
            c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"fleet-{t.code}")
            c.max_inflight_messages_set(1000)
            c.connect("127.0.0.1", t.broker.port)
            c.loop_start()
            self.clients.append(c)
        self.published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Fleet:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        for c in self.clients:
            c.disconnect()
            c.loop_stop()

    def _run(self) -> None:
        nodes = [
            (c, desk)
            for c, t in zip(self.clients, self.towers, strict=True)
            for desk, _, _ in t.desks
        ]
        rnd = random.Random(7)
        # A desk's state changes a few times a day (arrival, lunch, meetings, leaving): at
        # one change in a hundred readings, about 3 changes a second campus-wide, twice
        # a working day's average, as in a morning.
        occupied = [rnd.random() < 0.3 for _ in nodes]
        seq = 0
        while not self._stop.is_set():
            start = time.monotonic()
            for n, (client, desk) in enumerate(nodes):
                if rnd.random() < FLIP:
                    occupied[n] = not occupied[n]
                payload = {
                    "v": 1,
                    "boot": 1,
                    "seq": seq,
                    "ts": int(time.time() * 1000),
                    "occupied": occupied[n],
                    "source": "mmwave",
                }
                client.publish(f"ikn/v1/dev/node-{desk}/up/presence", json.dumps(payload), qos=1)
                self.published += 1
                # Spread the tick evenly over its 30 s.
                due = start + TICK_S * (n + 1) / len(nodes)
                ahead = due - time.monotonic()
                if n % 50 == 0 and ahead > 0 and self._stop.wait(ahead):
                    return
            seq += 1


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _streams(
    urls: list[str], tokens: list[str], towers: list[Tower], timings: Timings, stop: asyncio.Event
) -> None:
    """Open event streams, spread over replicas and towers; time each desk event."""
    reconnects = [0]

    async def one(n: int, client: httpx.AsyncClient) -> None:
        tower = towers[n % len(towers)]
        url = f"{urls[n % len(urls)]}/api/v1/events"
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        while not stop.is_set():  # as a browser's EventSource does, it connects again
            try:
                async with client.stream(
                    "GET", url, params={"building": tower.code}, headers=headers
                ) as resp:
                    async for line in resp.aiter_lines():
                        if stop.is_set():
                            return
                        if line.startswith("data:"):
                            data = json.loads(line[5:])
                            desk = data.get("desk") or data.get("space")
                            asked = timings.sent.pop(desk, None) if desk else None
                            if asked is not None:
                                took = (time.monotonic() - asked) * 1000
                                timings.ms["event delivery"].append(took)
            except httpx.HTTPError:
                pass
            reconnects[0] += 1
            await asyncio.sleep(3)

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None), limits=limits) as client:
        tasks = [asyncio.create_task(one(n, client)) for n in range(len(tokens) * 5)]
        await stop.wait()
        print(f"event streams: {reconnects[0]} reconnections (a stream too slow is closed)")
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _rush(
    urls: list[str],
    people: list[tuple[str, str]],
    towers: dict[str, Tower],
    rate: float,
    seconds: float,
    day: str,
    timings: Timings,
) -> int:
    """People acting at ``rate`` per second for ``seconds``: half book ``day``, half walk in."""
    tokens = LocalTokens(os.environ["BENCH_JWT"], 3600)
    taken: set[str] = set()
    done = 0

    async def act(n: int, client: httpx.AsyncClient, username: str, code: str) -> None:
        nonlocal done
        url = urls[n % len(urls)]
        auth = {"Authorization": f"Bearer {tokens.issue(username=username, role='employee')}"}
        tower = towers[code]
        now = datetime.now(WITA).replace(second=0, microsecond=0)
        walk_in = n % 2 == 1
        when = (
            {"start": now.isoformat(), "end": (now + timedelta(hours=4)).isoformat()}
            if walk_in
            else {"start": f"{day}T08:00:00", "end": f"{day}T16:00:00"}
        )
        t = time.monotonic()
        got = await client.get(
            f"{url}/api/v1/availability",
            params={"building": code, "floor": f"{code}-l1", **when},
            headers=auth,
        )
        timings.ms["find page data"].append((time.monotonic() - t) * 1000)
        if got.status_code != 200:
            timings.errors[f"find page data {got.status_code}"] += 1
            return
        free = [d["id"] for d in got.json() if d["state"] == "free" and d["id"] not in taken]
        if not free:
            timings.errors["no free desk"] += 1
            return
        desk = random.choice(free)
        taken.add(desk)
        key = {d: k for d, _, k in tower.desks}[desk]
        t = time.monotonic()
        timings.sent[desk] = t
        if walk_in:
            what = "check-in (QR)"
            got = await client.post(
                f"{url}/api/v1/buildings/{code}/desks/{desk}/check-in",
                params={"key": key},
                headers=auth,
            )
        else:
            what = "booking"
            got = await client.post(
                f"{url}/api/v1/bookings",
                json={"building": code, "desk": desk, **when},
                headers=auth,
            )
        timings.ms[what].append((time.monotonic() - t) * 1000)
        if got.status_code >= 300:
            timings.errors[f"{what} {got.status_code}"] += 1
            timings.said.setdefault(f"{what} {got.status_code}", got.text[:200])
            timings.sent.pop(desk, None)
        done += 1

    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        tasks = []
        t0 = time.monotonic()
        for n, (username, code) in enumerate(people[: int(rate * seconds)]):
            due = t0 + n / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(act(n, client, username, code)))
        for failed in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(failed, httpx.HTTPError):  # a connection reset or timed out
                timings.errors[type(failed).__name__] += 1
            elif isinstance(failed, BaseException):
                raise failed
    return done


def _dark(db: Database) -> int:
    with db.session(commit=False) as s:
        return int(s.scalar(text("SELECT count(*) FROM desk_live WHERE led = 'off'")) or 0)


def _pg_bytes(db: Database) -> int:
    with db.session(commit=False) as s:
        return int(s.scalar(text("SELECT pg_database_size(current_database())")) or 0)


def _size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--towers", type=int, default=16)
    ap.add_argument("--people", type=int, default=9465)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--share", type=float, default=0.5)
    ap.add_argument("--levels", type=int, default=6)
    ap.add_argument("--level-s", type=float, default=60.0)
    ap.add_argument("--settle-s", type=float, default=60.0)
    args = ap.parse_args()
    # Stopped by a signal, every process started here is stopped too (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    jwt = secrets.token_urlsafe(32)
    os.environ["BENCH_JWT"] = jwt
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with running(postgres(work / "pg")) as pg, running(influxd(work / "influx")) as flux:
            _run(args, work, pg, flux, jwt)


def _run(args: argparse.Namespace, work: Path, pg: Service, flux: Service, jwt: str) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/postgres"
    db = Database(url)
    init_schema(db.engine)
    t = time.perf_counter()
    towers = build(db, args.people, args.towers)
    took = time.perf_counter() - t
    print(f"campus built: {args.towers} towers, {args.people} people in {took:.0f} s")
    with db.session(commit=False) as s:
        people = [
            (u, a.removeprefix("ag-"))
            for u, a in s.execute(text("SELECT username, agency_id FROM users ORDER BY id")).all()
        ]
    env = {
        "SMARTOFFICE_DATABASE_URL": url,
        "SMARTOFFICE_READINGS_BACKEND": "influx",
        "SMARTOFFICE_INFLUX_URL": f"http://127.0.0.1:{flux.port}",
        "SMARTOFFICE_INFLUX_DATABASE": "campus",
        "SMARTOFFICE_JWT_SECRET": jwt,
        "SMARTOFFICE_WEB_VENDOR_DIR": str(ROOT / "node_modules"),
        "SMARTOFFICE_DATA_DIR": str(work / "server"),
    }
    replicas = []
    for n in range(args.replicas):
        port = free_port()
        svc = smartoffice(
            f"server{n}", ["server"], {**env, "SMARTOFFICE_PORT": str(port)}, work, port
        )
        svc.start()
        replicas.append(svc)
    urls = [r.url for r in replicas]
    for n, tower in enumerate(towers):
        tower.broker = mosquitto(work / f"mq-{tower.code}")
        port = free_port()
        tower.gateway = smartoffice(
            f"gw-{tower.code}",
            ["edge"],
            {
                "SMARTOFFICE_EDGE_GATEWAY_ID": f"gw-{tower.code}",
                "SMARTOFFICE_EDGE_GATEWAY_TOKEN": tower.gateway_token,
                "SMARTOFFICE_EDGE_SERVER_URL": urls[n % len(urls)],
                "SMARTOFFICE_EDGE_MQTT_PORT": str(tower.broker.port),
                "SMARTOFFICE_EDGE_DATA_DIR": str(work / f"edge-{tower.code}"),
                "SMARTOFFICE_EDGE_HTTP_PORT": str(port),
            },
            work,
            port,
        )
        tower.gateway.start()
    fleet = Fleet(towers).start()
    timings = Timings()
    stop = asyncio.Event()
    viewers = [u for u, _ in people[: max(1, args.streams // 5)]]
    issuer = LocalTokens(jwt, 7200)
    stream_tokens = [issuer.issue(username=u, role="employee") for u in viewers]
    loop = asyncio.new_event_loop()
    streamer = threading.Thread(
        target=loop.run_until_complete,
        args=(_streams(urls, stream_tokens, towers, timings, stop),),
        daemon=True,
    )
    streamer.start()
    try:
        # The desks' LEDs start "off" (the building before opening): the jobs' first sweep
        # turns every one on, as it does when a campus opens in the morning.
        t0 = time.monotonic()
        while _dark(db) and time.monotonic() - t0 < 1800:
            time.sleep(1)
        print(
            f"opening: every desk's LED turned on by the jobs' sweep within "
            f"{time.monotonic() - t0:.0f} s of the replicas starting ({_dark(db)} still off)"
        )
        cpu0 = {r.name: _cpu_s(r.proc.pid) for r in replicas if r.proc}
        t0, published = time.monotonic(), fleet.published
        time.sleep(args.settle_s)
        idle = {
            r.name: (_cpu_s(r.proc.pid) - cpu0[r.name]) / (time.monotonic() - t0)
            for r in replicas
            if r.proc
        }
        print(
            f"fleet alone: {(fleet.published - published) / (time.monotonic() - t0):.0f} "
            "readings/s published; "
            + ", ".join(f"{k} {v * 100:.0f} % CPU" for k, v in idle.items())
        )
        before = _pg_bytes(db)
        made = _levels(args, urls, replicas, people, towers, timings)
        grown = _pg_bytes(db) - before
        print(
            f"PostgreSQL grew {grown / 2**20:.1f} MiB over the rush's {made} bookings and "
            f"check-ins ({grown / max(made, 1) / 1024:.1f} KiB each, their audit and "
            "outcomes included)"
        )
    finally:
        loop.call_soon_threadsafe(stop.set)
        streamer.join(30)
        fleet.stop()
        for tower in towers:
            for part in (tower.gateway, tower.broker):
                if part is not None:
                    part.stop()
        for r in replicas:
            r.stop()
    _growth(db, flux, fleet.published, work)
    db.close()


def _levels(
    args: argparse.Namespace,
    urls: list[str],
    replicas: list[Service],
    people: list[tuple[str, str]],
    towers: list[Tower],
    timings: Timings,
) -> int:
    """Each load level in turn, until it breaks; how many actions were made."""
    made = 0
    real = args.people * args.share / 3600  # a real rush: the share of people in an hour
    by_code = {t.code: t for t in towers}
    # Nobody acts twice: each level takes people not taken before.
    waiting = random.Random(3).sample(people, len(people))
    print(
        "| load | actions/s | find page data p50/p99 | booking p50/p99 | check-in p50/p99 "
        "| event delivery p50/p99 | errors | CPU per replica |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for level in range(args.levels):
        factor = 2**level
        rate = real * factor
        day = (datetime.now(WITA) + timedelta(days=level + 1)).date().isoformat()
        wanted = int(rate * args.level_s)
        if wanted > len(waiting):
            print(f"stopped before {factor}x: everybody has acted")
            break
        sample, waiting = waiting[:wanted], waiting[wanted:]
        lap = Timings()
        lap.sent = timings.sent
        timings.ms, timings.errors = lap.ms, lap.errors  # the streams time into this lap
        cpu0 = {r.name: _cpu_s(r.proc.pid) for r in replicas if r.proc}
        t0 = time.monotonic()
        made += asyncio.run(_rush(urls, sample, by_code, rate, args.level_s, day, lap))
        time.sleep(2)  # the last events arrive
        took = time.monotonic() - t0
        cpu = [(_cpu_s(r.proc.pid) - cpu0[r.name]) / took * 100 for r in replicas if r.proc]
        errors = sum(lap.errors.values())
        print(
            f"| {factor}x | {rate:.1f} | "
            + " | ".join(
                f"{lap.p(w, 0.5):.0f} / {lap.p(w, 0.99):.0f} ms"
                for w in ("find page data", "booking", "check-in (QR)", "event delivery")
            )
            + f" | {errors} {dict(lap.errors) if errors else ''} | "
            + ", ".join(f"{c:.0f} %" for c in cpu)
            + " |"
        )
        worst = max(lap.p(w, 0.99) for w in ("find page data", "booking", "check-in (QR)"))
        for what, body in lap.said.items():
            print(f"  {what}: {body}")
        if errors > 0.01 * len(sample) or worst > 2000:
            print(f"stopped at {factor}x: errors or p99 above 2 s")
            break
    return made


def _growth(db: Database, flux: Service, readings: int, work: Path) -> None:
    with db.session(commit=False) as s:
        pg_bytes = s.scalar(text("SELECT pg_database_size(current_database())")) or 0
        bookings = s.scalar(text("SELECT count(*) FROM bookings")) or 0
    influx_bytes = _size_bytes(flux.workdir / "data") + _size_bytes(flux.workdir / "wal")
    got = httpx.get(
        f"{flux.url}/query", params={"db": "campus", "q": "SELECT COUNT(occupied) FROM presence"}
    ).json()
    stored = got["results"][0]["series"][0]["values"][0][1] if "series" in got["results"][0] else 0
    print(
        f"stored: PostgreSQL {pg_bytes / 2**20:.0f} MiB with {bookings} bookings; "
        f"InfluxDB {influx_bytes / 2**20:.0f} MiB with {stored:,} of {readings:,} readings "
        f"published ({influx_bytes / max(stored, 1):.1f} bytes per reading, WAL included)"
    )


if __name__ == "__main__":
    main()
