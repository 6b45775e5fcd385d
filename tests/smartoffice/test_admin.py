"""``smartoffice db upgrade``: during a rolling upgrade, only what is safe beside old replicas."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

from server.db import MIGRATIONS, Database
from smartoffice.cli import app


def test_db_upgrade_names_a_migration_unsafe_beside_older_replicas_and_waits(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(postgres_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0018")
    db.close()
    monkeypatch.setenv("SMARTOFFICE_DATABASE_URL", postgres_url)
    runner = CliRunner()

    refused = runner.invoke(app, ["db", "upgrade"])
    server = runner.invoke(app, ["server"])
    done = runner.invoke(app, ["db", "upgrade", "--all-stopped"])

    assert refused.exit_code == 2 and "0019 (Units" in refused.stderr
    assert "Stop every server replica" in refused.stderr
    assert server.exit_code == 2 and "0019 (Units" in server.stderr
    assert done.exit_code == 0 and "up to date" in done.stdout
