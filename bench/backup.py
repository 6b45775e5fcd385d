"""Backup and restore: time, archive size and peak memory, for a building and a campus.

1. The demo's lived-in building (``--desks`` desks, ``--days`` working days lived through
   the real services, as ``smartoffice demo`` does) on SQLite with the SQLite reading
   store, and on PostgreSQL with InfluxDB 1.x: ``smartoffice backup`` into an archive,
   then ``smartoffice restore`` into an empty deployment (with its checks).
2. A campus's raw readings: ``--campus-nodes`` nodes (default 10,000) reporting presence
   every 30 s for ``--campus-hours`` hours into InfluxDB 1.x (written as the server
   writes them, line protocol in batches), then backed up and restored the same way.

Each step runs in a child process so that its peak RSS is its own. Private PostgreSQL
and InfluxDB instances are started in a temp dir and stopped afterwards.

Run: ``python -m bench.backup [--desks 100] [--days 5] [--campus-hours 24]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from harness.lived import lived_in
from harness.services import Service, influxd, postgres, running
from server.backup.archive import new_key
from server.backup.service import backup, restore
from server.clock import now_utc
from server.config import ServerSettings


def _timed(work: Callable[[], Any]) -> dict[str, float]:
    """Run ``work`` in a child process: its seconds and its peak RSS (MiB)."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()

    def child() -> None:
        t = time.perf_counter()
        work()
        took = time.perf_counter() - t
        out.put((took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))

    proc = ctx.Process(target=child)
    proc.start()
    took, peak = out.get()
    proc.join()
    return {"s": took, "peak_mib": peak}


def _round_trip(first: ServerSettings, second: ServerSettings, work: Path) -> dict[str, Any]:
    identity, recipient = new_key()
    key = work / "key.txt"
    key.write_text(identity + "\n")
    archives = work / "archives"
    made = _timed(lambda: asyncio.run(backup(first, now=now_utc(), to=archives, keys=[recipient])))
    archive = next(archives.glob("*.age"))
    done: dict[str, Any] = {}

    def back() -> None:
        restored = asyncio.run(restore(second, archive=archive, key_file=key))
        assert restored.differences == [], restored.differences

    brought = _timed(back)
    manifest_rows = json.loads((archive.with_name(archive.name + ".json")).read_text())
    done.update(
        backup_s=made["s"],
        backup_peak_mib=made["peak_mib"],
        restore_s=brought["s"],
        restore_peak_mib=brought["peak_mib"],
        archive_mib=manifest_rows["size"] / 2**20,
    )
    return done


def _database(pg: Service, name: str) -> str:
    with psycopg.connect(
        f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/{name}"


def _influx(db: Service, name: str) -> dict[str, Any]:
    return {
        "readings_backend": "influx",
        "influx_url": f"http://127.0.0.1:{db.port}",
        "influx_backup_address": f"127.0.0.1:{db.rpc}",
        "influx_database": name,
        "influx_retention_policy": "raw",
        "influx_rollup_retention_policy": "forever",
        "raw_retention_days": 90,
    }


def lived(desks: int, days: int, pg: Service, flux: Service, work: Path) -> list[dict[str, Any]]:
    rows = []
    lite = (
        ServerSettings(data_dir=work / "lite-a", port=1),
        ServerSettings(data_dir=work / "lite-b", port=1),
    )
    served = (
        ServerSettings(
            data_dir=work / "pg-a",
            port=1,
            database_url=_database(pg, "lived_a"),
            **_influx(flux, "lived_a"),
        ),
        ServerSettings(
            data_dir=work / "pg-b",
            port=1,
            database_url=_database(pg, "lived_b"),
            **_influx(flux, "lived_b"),
        ),
    )
    for name, (first, second) in (
        ("SQLite + SQLite readings", lite),
        ("PostgreSQL + InfluxDB 1.x", served),
    ):
        t = time.perf_counter()
        lived_in(first, desks=desks, days=days)
        made = time.perf_counter() - t
        (work / name[:2]).mkdir()
        rows.append(
            {
                "what": f"{desks} desks, {days} days lived ({name})",
                "made_s": made,
                **_round_trip(first, second, work / name[:2]),
            }
        )
    return rows


def campus(nodes: int, hours: int, flux: Service, work: Path) -> dict[str, Any]:
    """``nodes`` desks' presence every 30 s for ``hours`` hours, written into InfluxDB 1.x."""
    first = ServerSettings(data_dir=work / "campus-a", port=1, **_influx(flux, "campus_a"))
    second = ServerSettings(data_dir=work / "campus-b", port=1, **_influx(flux, "campus_b"))
    url = f"http://127.0.0.1:{flux.port}"
    httpx.post(f"{url}/query", data={"q": 'CREATE DATABASE "campus_a"'}).raise_for_status()
    httpx.post(
        f"{url}/query",
        data={"q": 'CREATE RETENTION POLICY "raw" ON "campus_a" DURATION 90d REPLICATION 1'},
    ).raise_for_status()
    # A schema-migrated relational database is part of every archive.
    from server.db import Database, init_schema

    first.data_dir.mkdir(parents=True)
    db = Database(first.sqlalchemy_url)
    init_schema(db.engine)
    db.close()
    start = int((now_utc() - timedelta(hours=hours)).timestamp()) * 1_000_000_000
    points = 0
    t = time.perf_counter()
    with httpx.Client(base_url=url, timeout=120) as http:
        for step in range(hours * 120):  # every 30 s
            ts = start + step * 30_000_000_000
            lines = "\n".join(
                f"presence,building=t{n % 16:02d},floor=f{n // 16 % 40},device=desk-{n:05d},"
                f"space=d-{n:05d},space_kind=desk "
                f"occupied={'true' if (n + step // 40) % 3 else 'false'},"
                f"boot=1i,seq={step}i,ts_gateway={ts // 1_000_000}i {ts}"
                for n in range(nodes)
            )
            http.post(
                "/write", params={"db": "campus_a", "rp": "raw", "precision": "ns"}, content=lines
            ).raise_for_status()
            points += nodes
    written = time.perf_counter() - t
    (work / "campus").mkdir()
    return {
        "what": f"{nodes:,} nodes' presence every 30 s for {hours} h ({points:,} readings)",
        "made_s": written,
        **_round_trip(first, second, work / "campus"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--desks", type=int, default=100)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--campus-nodes", type=int, default=10_000)
    ap.add_argument("--campus-hours", type=int, default=24)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with running(postgres(work / "pg")) as pg, running(influxd(work / "influx")) as flux:
            rows = lived(args.desks, args.days, pg, flux, work)
            if args.campus_hours:
                rows.append(campus(args.campus_nodes, args.campus_hours, flux, work))
    print(
        "| what | made in | backup | archive | restore (with its checks) "
        "| peak RSS backup / restore |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['what']} | {r['made_s']:.1f} s | {r['backup_s']:.1f} s | "
            f"{r['archive_mib']:.2f} MiB | {r['restore_s']:.1f} s | "
            f"{r['backup_peak_mib']:.0f} / {r['restore_peak_mib']:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
