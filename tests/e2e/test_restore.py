"""A server lost and restored from its backup while the gateway keeps queueing readings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from harness.platform import Platform
from harness.services import Service, wait_for
from server.backup.archive import new_key
from tests.e2e.conftest import Influx, running_fleet, stored_seqs


def _cli(platform: Platform, influxd: Service, *argv: str) -> subprocess.CompletedProcess[str]:
    """``smartoffice ...`` with the server's own settings, as the operator runs it."""
    assert platform.server is not None
    env = {
        **os.environ,
        **platform.server.env,
        "SMARTOFFICE_INFLUX_BACKUP_ADDRESS": f"127.0.0.1:{influxd.rpc}",
    }
    return subprocess.run(
        [sys.executable, "-m", "smartoffice", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_readings_queued_while_the_server_is_restored_are_stored_once_afterwards(
    platform: Platform,
    mosquitto: Service,
    influxd: Service,
    influx: Influx,
    unique_name: str,
    tmp_path: Path,
) -> None:
    identity, recipient = new_key()
    key = tmp_path / "key.txt"
    key.write_text(identity + "\n")
    devices, pub = running_fleet(platform, mosquitto, unique_name, 10, 400, 400)
    wait_for(lambda: platform.gateway_metric("smartoffice_edge_sent_total") > 300, "nothing sent")

    assert platform.server is not None
    platform.server.stop()
    to = str(tmp_path / "archives")
    made = _cli(platform, influxd, "backup", "--to", to, "--recipient", recipient)
    assert made.returncode == 0, made.stderr
    archive = next((tmp_path / "archives").glob("*.age"))
    # The disk is lost: the server's directory (SQLite database, secrets) and its InfluxDB.
    shutil.rmtree(platform.workdir / "server")
    httpx.post(
        f"http://127.0.0.1:{influxd.port}/query", data={"q": f'DROP DATABASE "{unique_name}"'}
    ).raise_for_status()
    wait_for(lambda: platform.gateway_health()["outbox_depth"] > 100, "the gateway queued nothing")

    back = _cli(platform, influxd, "restore", str(archive), "--key", str(key))
    assert back.returncode == 0, back.stderr
    assert "every table and reading count matches the manifest" in back.stdout
    platform.start_server()
    pub.finish()

    expected = {d: list(range(400)) for d in devices}
    wait_for(lambda: stored_seqs(influx, devices) == expected, "not exactly once", timeout=90)
    wait_for(lambda: platform.gateway_health()["outbox_depth"] == 0, "outbox not drained")
