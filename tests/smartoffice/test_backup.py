"""``smartoffice backup-key``, ``backup`` and ``restore`` as an operator types them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.db import Database, init_schema
from smartoffice.cli import app


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated, empty deployment in ``tmp_path/var`` (the settings read from the env)."""
    monkeypatch.setenv("SMARTOFFICE_DATA_DIR", str(tmp_path / "var"))
    (tmp_path / "var").mkdir()
    db = Database(f"sqlite:///{tmp_path / 'var' / 'smartoffice.db'}")
    init_schema(db.engine)
    db.close()
    return tmp_path


def test_a_key_pair_is_made_and_its_private_half_is_kept_private(tmp_path: Path) -> None:
    runner = CliRunner()

    made = runner.invoke(app, ["backup-key", "--out", str(tmp_path / "k.txt")])

    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("SMARTOFFICE_BACKUP_RECIPIENTS=age1")
    assert stat.S_IMODE((tmp_path / "k.txt").stat().st_mode) == 0o600
    again = runner.invoke(app, ["backup-key", "--out", str(tmp_path / "k.txt")])
    assert again.exit_code == 2 and "exists" in again.stderr
    printed = runner.invoke(app, ["backup-key", "--out", "-"])
    assert printed.stdout.splitlines()[1].startswith("AGE-SECRET-KEY-1")
    assert printed.stderr.startswith("SMARTOFFICE_BACKUP_RECIPIENTS=age1")


def test_backup_and_restore_from_the_command_line(
    deployment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    key = deployment / "k.txt"
    recipient = runner.invoke(app, ["backup-key", "--out", str(key)]).stdout.split("=")[1].strip()
    monkeypatch.setenv("SMARTOFFICE_BACKUP_RECIPIENTS", recipient)

    made = runner.invoke(app, ["backup"])

    assert made.exit_code == 0, made.output
    archive = next((deployment / "var" / "backups").glob("*.tar.gz.age"))
    assert str(archive) in made.stdout and "39 tables" in made.stdout
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600

    refused = runner.invoke(app, ["restore", str(archive), "--key", str(key)])
    assert refused.exit_code == 2
    assert "error: the database" in refused.stderr and "already holds 39 tables" in refused.stderr

    monkeypatch.setenv("SMARTOFFICE_DATA_DIR", str(deployment / "new"))
    done = runner.invoke(app, ["restore", str(archive), "--key", str(key)])
    assert done.exit_code == 0, done.output
    assert "every table and reading count matches the manifest" in done.stdout


def test_a_backup_without_a_key_to_encrypt_to_says_how_to_make_one(deployment: Path) -> None:
    done = CliRunner().invoke(app, ["backup"])

    assert done.exit_code == 2
    assert "SMARTOFFICE_BACKUP_RECIPIENTS" in done.stderr and "backup-key" in done.stderr
    assert not list((deployment / "var").glob("backups/*.age"))


def test_a_wrong_key_says_so(deployment: Path) -> None:
    runner = CliRunner()
    key, other = deployment / "k.txt", deployment / "other.txt"
    recipient = runner.invoke(app, ["backup-key", "--out", str(key)]).stdout.split("=")[1].strip()
    runner.invoke(app, ["backup-key", "--out", str(other)])
    runner.invoke(app, ["backup", "--recipient", recipient])
    archive = next((deployment / "var" / "backups").glob("*.tar.gz.age"))

    done = runner.invoke(app, ["restore", str(archive), "--key", str(other)])

    assert done.exit_code == 2
    assert "this key does not open" in done.stderr
