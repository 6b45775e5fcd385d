"""A deployment backed up, destroyed and restored; the archives that must be refused."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from harness.lived import lived_in
from harness.services import Service
from server.backup.archive import ArchiveError, new_key, note_path
from server.backup.service import archives, backup, restore
from server.clock import now_utc
from server.config import ServerSettings
from server.db import MIGRATIONS


def _rows(url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, without our code's help."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: sorted(repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{t}"')))
                for t in inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


def _points(settings: ServerSettings, influxd: Service | None) -> dict[str, list[Any]]:
    """Every reading and rollup, straight from the store's own interface."""
    if influxd is None:
        with sqlite3.connect(settings.sqlite_readings_path) as conn:
            return {
                t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall())
                for t in ("readings", "rollups")
            }
    out: dict[str, list[Any]] = {}
    url = f"http://127.0.0.1:{influxd.port}/query"
    db = settings.influx_database

    def q(query: str) -> list[dict[str, Any]]:
        got = httpx.get(url, params={"db": db, "q": query, "epoch": "ns"}).json()
        return list(got["results"][0].get("series", []))

    for policy, *_rest in q("SHOW RETENTION POLICIES")[0]["values"]:
        for series in q(f'SELECT * FROM "{db}"."{policy}"./.*/'):
            out[f"{policy}.{series['name']}"] = sorted(map(repr, series["values"]))
    return out


def _keyfile(tmp: Path) -> tuple[Path, str]:
    identity, recipient = new_key()
    path = tmp / "backup-key.txt"
    path.write_text(identity + "\n")
    return path, recipient


def _empty_postgres(postgres: Service, name: str) -> str:
    with psycopg.connect(
        f"host=127.0.0.1 port={postgres.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/{name}"


def _drop_postgres(postgres: Service, url: str) -> None:
    with psycopg.connect(
        f"host=127.0.0.1 port={postgres.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.mark.parametrize("stores", ["sqlite", "postgres-influx"])
def test_a_lived_in_deployment_comes_back_whole(
    stores: str, tmp_path: Path, request: pytest.FixtureRequest, unique_name: str
) -> None:
    key, recipient = _keyfile(tmp_path)
    influxd: Service | None = None
    if stores == "sqlite":
        first = ServerSettings(data_dir=tmp_path / "a", port=1)
        second = ServerSettings(data_dir=tmp_path / "b", port=1)
    else:
        postgres: Service = request.getfixturevalue("postgres")
        influxd = request.getfixturevalue("influxd")
        influx: dict[str, Any] = {
            "readings_backend": "influx",
            "influx_url": f"http://127.0.0.1:{influxd.port}",
            "influx_backup_address": f"127.0.0.1:{influxd.rpc}",
            "influx_retention_policy": "raw",
            "influx_rollup_retention_policy": "forever",
            "raw_retention_days": 90,
        }
        first = ServerSettings(
            data_dir=tmp_path / "a",
            port=1,
            database_url=_empty_postgres(postgres, unique_name + "a"),
            influx_database=unique_name + "a",
            **influx,
        )
        second = ServerSettings(
            data_dir=tmp_path / "b",
            port=1,
            database_url=_empty_postgres(postgres, unique_name + "b"),
            influx_database=unique_name + "b",
            **influx,
        )
    lived_in(first)
    (first.data_dir / "jwt-secret").write_text("a-signing-secret-of-the-deployment-" * 2)
    env = tmp_path / "etc" / ".env"
    env.parent.mkdir()
    env.write_text("SMARTOFFICE_ENVIRONMENT=production\n")
    tables, points = _rows(first.sqlalchemy_url), _points(first, influxd)
    assert len(tables["bookings"]) > 10 and len(tables["privacy_requests"]) == 1
    assert sum(map(len, points.values())) > 1000

    made = asyncio.run(
        backup(first, now=now_utc(), to=tmp_path / "archives", keys=[recipient], include=[env])
    )

    # The disk is lost: the database, the reading store and the data directory go.
    shutil.rmtree(first.data_dir)
    env.unlink()
    if influxd is not None:
        _drop_postgres(request.getfixturevalue("postgres"), first.sqlalchemy_url)
        httpx.post(
            f"http://127.0.0.1:{influxd.port}/query",
            data={"q": f'DROP DATABASE "{first.influx_database}"'},
        ).raise_for_status()

    done = asyncio.run(
        restore(second, archive=made.note.archive, key_file=key, files_into=tmp_path / "etc")
    )

    assert done.differences == []
    assert done.migrated_from is None
    assert _rows(second.sqlalchemy_url) == tables
    assert _points(second, influxd) == points
    assert (second.data_dir / "jwt-secret").read_text().startswith("a-signing-secret")
    assert env.read_text() == "SMARTOFFICE_ENVIRONMENT=production\n"
    assert sorted(done.files) == sorted([second.data_dir / "jwt-secret", env])


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ServerSettings]:
    """One lived-in SQLite deployment's archive, its key, and the deployment's settings."""
    tmp = tmp_path_factory.mktemp("archived")
    key, recipient = _keyfile(tmp)
    settings = ServerSettings(data_dir=tmp / "a", port=1)
    lived_in(settings, desks=10)
    made = asyncio.run(backup(settings, now=now_utc(), keys=[recipient]))
    return made.note.archive, key, settings


def _fresh(tmp_path: Path) -> ServerSettings:
    return ServerSettings(data_dir=tmp_path / "fresh", port=1)


def test_a_wrong_key_is_refused_and_nothing_is_restored(
    archived: tuple[Path, Path, ServerSettings], tmp_path: Path
) -> None:
    archive, _, _ = archived
    other, _ = _keyfile(tmp_path)
    target = _fresh(tmp_path)

    with pytest.raises(ArchiveError, match="does not open .* encrypted to another key"):
        asyncio.run(restore(target, archive=archive, key_file=other))
    assert not target.data_dir.exists()


@pytest.mark.parametrize("note", ["with its note", "without its note"])
def test_a_truncated_archive_is_refused_with_its_reason(
    archived: tuple[Path, Path, ServerSettings], tmp_path: Path, note: str
) -> None:
    archive, key, _ = archived
    cut = tmp_path / archive.name
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    if note == "with its note":
        shutil.copy(note_path(archive), note_path(cut))
    target = _fresh(tmp_path)

    reason = "size or SHA-256 differs" if note == "with its note" else "damaged or incomplete"
    with pytest.raises(ArchiveError, match=reason):
        asyncio.run(restore(target, archive=cut, key_file=key))
    assert not target.data_dir.exists()


def test_a_restore_goes_only_into_an_empty_deployment(
    archived: tuple[Path, Path, ServerSettings],
) -> None:
    archive, key, settings = archived
    before = _rows(settings.sqlalchemy_url)

    with pytest.raises(ArchiveError, match="already holds 39 tables"):
        asyncio.run(restore(settings, archive=archive, key_file=key))
    assert _rows(settings.sqlalchemy_url) == before


def test_an_archive_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    key, recipient = _keyfile(tmp_path)
    settings = ServerSettings(data_dir=tmp_path / "a", port=1)
    lived_in(settings, desks=10)
    with sqlite3.connect(settings.data_dir / "smartoffice.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    made = asyncio.run(backup(settings, now=now_utc(), keys=[recipient]))
    target = _fresh(tmp_path)

    with pytest.raises(ArchiveError, match=r"schema \(0099\) is newer than this release knows"):
        asyncio.run(restore(target, archive=made.note.archive, key_file=key))
    assert not target.data_dir.exists()


def test_an_older_release_s_archive_is_checked_then_migrated(tmp_path: Path) -> None:
    key, recipient = _keyfile(tmp_path)
    settings = ServerSettings(data_dir=tmp_path / "a", port=1)
    settings.data_dir.mkdir()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", settings.sqlalchemy_url)
    engine = create_engine(settings.sqlalchemy_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0023")
    engine.dispose()
    made = asyncio.run(backup(settings, now=now_utc(), keys=[recipient], with_readings=False))
    target = _fresh(tmp_path)

    done = asyncio.run(restore(target, archive=made.note.archive, key_file=key))

    assert (done.differences, done.migrated_from) == ([], "0023")
    assert "forecasts" in _rows(target.sqlalchemy_url)  # 0024's table


def test_archives_past_the_retention_are_removed_when_a_new_one_is_written(
    tmp_path: Path,
) -> None:
    _, recipient = _keyfile(tmp_path)
    settings = ServerSettings(data_dir=tmp_path / "a", port=1, backup_keep_days=30)
    lived_in(settings, desks=10)
    now = now_utc()
    old = asyncio.run(backup(settings, now=now - timedelta(days=31), keys=[recipient]))
    kept = asyncio.run(backup(settings, now=now - timedelta(days=29), keys=[recipient]))

    new = asyncio.run(backup(settings, now=now, keys=[recipient]))

    assert new.removed == [old.note.archive]
    assert [a.archive for a in archives(settings.backups)] == [kept.note.archive, new.note.archive]
    assert not note_path(old.note.archive).exists()
