"""The reading store in and out of an archive, with the store's own tools.

The SQLite reading file is copied with SQLite's online backup. InfluxDB 1.x is backed up
with ``influxd backup -portable`` over its RPC address (every database's retention
policies and shards, raw and rollups) and restored with ``influxd restore -portable``.
InfluxDB 2.x and 3.x have their own tools (``influx backup``, object-store snapshots);
a backup there is made with ``--readings skip`` and the store's own tool beside it
(docs/operations.md).

Readings may arrive while the copy is made, so the store is counted before and after,
and the manifest keeps both: a restored store must hold at least the first count and at
most the second, stream by stream.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from server.backup.archive import ArchiveError
from server.backup.relational import copy_sqlite
from server.config import ServerSettings
from server.exceptions import StoreError
from server.readings.influx import InfluxReadingStore
from server.readings.store import ReadingStore
from server.services import build_store

SQLITE_FILE = "readings.sqlite"
INFLUX_DIR = "readings-influx"


async def dump(settings: ServerSettings, store: ReadingStore, into: Path) -> dict[str, Any]:
    """Copy the reading store into ``into``; what the manifest says of it."""
    before = await store.census()
    if isinstance(store, InfluxReadingStore):
        await _refuse_unless_v1(store)
        _influxd(
            "backup",
            ["-portable", "-db", store.database, "-host", _rpc(settings), str(into / INFLUX_DIR)],
        )
        held = INFLUX_DIR
    else:
        copy_sqlite(settings.sqlite_readings_path, into / SQLITE_FILE)
        held = SQLITE_FILE
    after = await store.census()
    keys = sorted(before.keys() | after.keys())
    return {
        "kind": "influx" if held == INFLUX_DIR else "sqlite",
        "held": held,
        "database": store.database if isinstance(store, InfluxReadingStore) else None,
        "at_least": {k: min(before.get(k, 0), after.get(k, 0)) for k in keys},
        "at_most": {k: max(before.get(k, 0), after.get(k, 0)) for k in keys},
    }


async def refuse_unless_empty(settings: ServerSettings) -> None:
    """Refuse a reading store that holds readings: a restore goes into an empty one."""
    if settings.readings_backend == "sqlite" and not settings.sqlite_readings_path.exists():
        return
    store = build_store(settings)
    try:
        census = await store.census()
    except StoreError as exc:
        if isinstance(store, InfluxReadingStore) and "database not found" in str(exc):
            return
        raise
    finally:
        await store.close()
    if isinstance(store, InfluxReadingStore):
        raise ArchiveError(
            f"the InfluxDB database {store.database!r} already exists: a restore makes it "
            "(choose a new SMARTOFFICE_INFLUX_DATABASE, or drop this one if it is really "
            "to be replaced)"
        )
    if any(census.values()):
        raise ArchiveError(
            f"the reading store {settings.sqlite_readings_path} already holds readings: a "
            "restore goes into an empty one"
        )


async def load(settings: ServerSettings, content: Path, held: dict[str, Any]) -> dict[str, int]:
    """Bring the archived readings back into the (empty) store; its census after."""
    if settings.readings_backend == "influx":
        if held["kind"] != "influx":
            raise ArchiveError("the archive holds SQLite readings; restore them into SQLite")
        store = build_store(settings)
        try:
            assert isinstance(store, InfluxReadingStore)
            await _refuse_unless_v1(store)
            _influxd(
                "restore",
                [
                    "-portable",
                    "-db",
                    held["database"],
                    "-newdb",
                    store.database,
                    "-host",
                    _rpc(settings),
                    str(content / INFLUX_DIR),
                ],
            )
        finally:
            await store.close()
    else:
        if held["kind"] != "sqlite":
            raise ArchiveError("the archive holds InfluxDB readings; restore them into InfluxDB")
        target = settings.sqlite_readings_path
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        copy_sqlite(content / SQLITE_FILE, target)
    store = build_store(settings)
    try:
        return await store.census()
    finally:
        await store.close()


async def _refuse_unless_v1(store: InfluxReadingStore) -> None:
    version = await store.version()
    if not version.startswith("1."):
        raise ArchiveError(
            f"InfluxDB {version or '(version unknown)'} is backed up with its own tool "
            "(`influx backup`); run `smartoffice backup --readings skip` and that tool side "
            "by side (docs/operations.md, Backup and restore)"
        )


def _rpc(settings: ServerSettings) -> str:
    if settings.influx_backup_address:
        return settings.influx_backup_address
    return f"{urlsplit(settings.influx_url).hostname or '127.0.0.1'}:8088"


def _influxd(verb: str, args: list[str]) -> None:
    binary = shutil.which("influxd")
    if binary is None:
        raise ArchiveError(
            "influxd (InfluxDB 1.x's own backup tool) is not installed here: install the "
            "influxdb package, or run the backup on the InfluxDB machine"
        )
    done = subprocess.run([binary, verb, *args], capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-600:]
        raise ArchiveError(f"influxd {verb} failed: {tail}")
