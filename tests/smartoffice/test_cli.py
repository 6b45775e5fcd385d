"""The command line (smartoffice/cli.py): energy rollups rebuilt, agencies and their people."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from contracts.registry import SpaceRef
from harness.layouts import one_floor
from server.auth.models import User
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.db import Database, init_schema
from server.plans.models import WorkPlan
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import StoredReading, Window
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from smartoffice.cli import app

H = 3_600_000
T0 = 1_793_548_800_000  # 2026-11-02 00:00 WITA


def test_rollup_rebuild_since_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTOFFICE_DATA_DIR", str(tmp_path))
    db = Database(f"sqlite:///{tmp_path / 'smartoffice.db'}")
    init_schema(db.engine)
    with db.session() as s:
        import_layout(s, parse_layout(one_floor("kantor-c", "l1", ["m1"])))
    db.close()
    zone = SpaceRef(building="kantor-c", floor="l1", zone="l1-a", space="l1-a", space_kind="zone")
    readings = [
        StoredReading(
            "energy",
            T0 + i * 60_000,
            "em-1",
            zone,
            {
                "power_w": 600.0,
                "energy_wh": 1000.0 + 10 * i,
                "circuit": "hvac",
                "boot": 1,
                "seq": i,
                "ts_gateway": 0,
            },
        )
        for i in range(121)
    ]

    async def write_then_read(rows: list[StoredReading] | None) -> list[float]:
        store = SQLiteReadingStore(tmp_path / "readings.db")
        if rows:
            await store.write(rows)
        got = await store.rollups(
            kind="energy", values={"wh": "sum"}, window=Window(T0, T0 + 2 * H, timedelta(hours=1))
        )
        await store.close()
        return [r.values["wh"] for r in got]

    assert asyncio.run(write_then_read(readings)) == []
    runner = CliRunner()
    bad = runner.invoke(app, ["energy", "rollup", "--building", "nowhere"])
    assert bad.exit_code == 2 and "no building 'nowhere'" in bad.output
    done = runner.invoke(app, ["energy", "rollup", "--since", "2026-11-02T00:00"])
    assert done.exit_code == 0, done.output
    assert "kantor-c: 3 rollup rows written" in done.output  # 00:00, 01:00 and 02:00
    assert asyncio.run(write_then_read(None)) == [600.0, 600.0]
    wrong = runner.invoke(app, ["energy", "rollup", "--since", "yesterday"])
    assert wrong.exit_code == 2 and "not an ISO time" in wrong.output


def test_agencies_and_their_people_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTOFFICE_DATA_DIR", str(tmp_path))
    run = CliRunner().invoke
    added = run(
        app,
        [
            "agency",
            "add",
            "kemenko-pmk",
            "--name",
            "Kemenko PMK",
            "--controller",
            "Kemenko PMK",
            "--contact",
            "ppid@pmk.example.go.id",
        ],
    )
    assert added.exit_code == 0 and "added kemenko-pmk: Kemenko PMK" in added.output
    again = run(app, ["agency", "add", "kemenko-pmk", "--name", "X"])
    assert again.exit_code == 2 and "exists already" in again.output
    bad = run(app, ["agency", "add", "Kemenko PMK", "--name", "X"])
    assert bad.exit_code == 2 and "not saved: id" in bad.output
    changed = run(
        app,
        [
            "agency",
            "update",
            "kemenko-pmk",
            "--name",
            "Kemenko PMK",
            "--name-en",
            "Coordinating Ministry for Human Development",
        ],
    )
    assert changed.exit_code == 0, changed.output
    listed = run(app, ["agency", "list"])
    assert "kemenko-pmk" in listed.output and "controller not set" not in listed.output
    made = run(
        app,
        ["user", "create", "dewi", "--agency", "kemenko-pmk", "--password-stdin"],
        input="kata-sandi-panjang\n",
    )
    assert made.exit_code == 0 and "created dewi (employee, kemenko-pmk)" in made.output
    stray = run(
        app,
        ["user", "create", "eko", "--agency", "nope", "--password-stdin"],
        input="kata-sandi-panjang\n",
    )
    assert stray.exit_code == 2 and "no agency 'nope'" in stray.output
    # Its units, and an agency's own administrator in one of them.
    units = run(app, ["agency", "unit", "kemenko-pmk", "Biro Umum", "Pusdatin"])
    assert units.exit_code == 0 and "kemenko-pmk: Biro Umum, Pusdatin" in units.output
    assert "units: Biro Umum, Pusdatin" in run(app, ["agency", "list"]).output
    boss = run(
        app,
        [
            "user",
            "create",
            "sari",
            "--role",
            "agency_admin",
            "--agency",
            "kemenko-pmk",
            "--unit",
            "Biro Umum",
            "--password-stdin",
        ],
        input="kata-sandi-panjang\n",
    )
    assert boss.exit_code == 0 and "created sari (agency_admin, kemenko-pmk)" in boss.output
    lost = run(
        app,
        [
            "user",
            "create",
            "tono",
            "--agency",
            "kemenko-pmk",
            "--unit",
            "Biro X",
            "--password-stdin",
        ],
        input="kata-sandi-panjang\n",
    )
    assert lost.exit_code == 2 and "is not a unit of kemenko-pmk" in lost.output


def test_push_keys_are_a_pair_the_server_takes() -> None:
    from pydantic import SecretStr

    from server.config import ServerSettings
    from server.services import notifying_of

    made = CliRunner().invoke(app, ["push-keys"])
    assert made.exit_code == 0, made.output
    line = next(x for x in made.stdout.splitlines() if x.startswith("SMARTOFFICE_VAPID_"))
    private = line.split("=", 1)[1]
    settings = ServerSettings(data_dir=Path("/nonexistent"), vapid_private_key=SecretStr(private))
    found = notifying_of(settings, "a secret")
    assert found.push and found.vapid_public_key is not None
    assert found.vapid_public_key in made.stderr


def test_plans_are_followed_and_forecast_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTOFFICE_DATA_DIR", str(tmp_path))
    db = Database(f"sqlite:///{tmp_path / 'smartoffice.db'}")
    init_schema(db.engine)
    with db.session() as s:
        import_layout(s, parse_layout(one_floor("kantor-c", "l1", ["m1", "m2"])))
        create_user(
            s, actor="t", new=UserCreate(username="sari", password="p" * 12, display_name="Sari")
        )
        uid = s.scalar(select(User.id).where(User.username == "sari"))
        s.add(WorkPlan(user_id=uid, week="office," * 6 + "office", book_ahead_days=0, updated_ms=0))
    db.close()
    run = CliRunner().invoke
    followed = run(app, ["plans", "follow"])
    assert followed.exit_code == 0, followed.output
    assert "0 desk(s) booked" in followed.stdout  # nothing booked ahead: book_ahead_days is 0
    shown = run(app, ["plans", "forecast", "kantor-c", "--days", "2"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert len(lines) == 2 and all("l1: 1.0 (0 booked)" in x for x in lines)
    missing = run(app, ["plans", "forecast", "kantor-x"])
    assert missing.exit_code == 2 and "kantor-x" in missing.stderr


def test_a_gateway_without_its_token_says_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compose starts the gateway before its token is set: it says so, without a traceback."""
    monkeypatch.setenv("SMARTOFFICE_EDGE_GATEWAY_ID", "gw-building")
    monkeypatch.setenv("SMARTOFFICE_EDGE_GATEWAY_TOKEN", "")
    result = CliRunner().invoke(app, ["edge"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    said = str(result.exception)
    assert "SMARTOFFICE_EDGE_GATEWAY_TOKEN is empty" in said
    assert "docker compose run --rm server registry gateway-token gw-building" in said
    assert "Traceback" not in result.output
