"""What ``/metrics`` tells the alerts: stores answering, backups' age, the disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.platform import Platform
from server.backup.archive import new_key
from server.backup.service import backup
from server.clock import now_utc
from server.config import ServerSettings


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_metrics_tell_the_stores_the_newest_backup_and_the_free_disk(tmp_path: Path) -> None:
    platform = Platform(tmp_path, {}, gateway_id="gw-ops")
    try:
        server = platform.start_server()
        before = _samples(httpx.get(f"{server.url}/metrics").text)
        settings = ServerSettings(data_dir=tmp_path / "server")
        made = asyncio.run(backup(settings, now=now_utc(), keys=[new_key()[1]]))
        after = _samples(httpx.get(f"{server.url}/metrics").text)
    finally:
        platform.stop()

    assert before[("smartoffice_store_up", (("store", "database"),))] == 1
    assert before[("smartoffice_store_up", (("store", "readings"),))] == 1
    assert before[("smartoffice_backup_newest_timestamp_seconds", ())] == 0
    newest = after[("smartoffice_backup_newest_timestamp_seconds", ())]
    assert newest == made.note.created.timestamp()
    for path in ("data", "backups"):
        assert 0 < after[("smartoffice_disk_free_ratio", (("path", path),))] < 1
