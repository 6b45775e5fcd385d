"""Upgrades on live data: an earlier release's code lives in a building, this one takes over.

The earlier release is taken from the repository's own history (``git archive``) and runs
as it shipped: its code makes the accounts, bookings, weekly series, work plans, readings,
rollups and a privacy request (``smartoffice.living`` of that release, and its API), and
its server answers a set of API questions. Then this release's server starts on the same
database, applies its migrations, and must give the same answers: every field the
earlier release answered, with the same value (a newer release may add fields).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.platform import smartoffice
from harness.services import Service, free_port
from server.clock import WITA, now_utc

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ROOT / "server" / "migrations" / "versions"
PASSWORD = "lived-in-pw"
JWT = "an-upgrade-test-signing-secret-0123456789"
# A script the earlier release runs with its own code: the demo's building, lived in.
LIVE = """
import sys
from datetime import datetime
from pathlib import Path
from server.config import ServerSettings
from smartoffice import demo
from smartoffice.living import Past, people_of
settings = ServerSettings(port=1)
fleet, _, _ = demo._prepare(settings, 20, 1883, False, {n: sys.argv[2] for n, *_ in demo.PEOPLE})
until = datetime.fromisoformat(sys.argv[1])
Past(settings, fleet, demo.BUILDING, people_of(fleet)).run(days=2, until=until)
"""


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _releases() -> list[tuple[str, str]]:
    """(name, commit): the release just before the newest migration, and the oldest
    release whose building can be lived in with its privacy requests (the later of the
    commits adding ``smartoffice/living.py`` and ``server/api/privacy.py``)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return []
    newest = sorted(VERSIONS.glob("0*.py"))[-1]
    added = _git("log", "-1", "--format=%H", "--diff-filter=A", "--", str(newest))
    firsts = [
        _git("log", "--format=%H", "--diff-filter=A", "--", path).splitlines()[-1]
        for path in ("smartoffice/living.py", "server/api/privacy.py")
    ]
    oldest = _git("rev-list", "-1", "--topo-order", *firsts)  # the later of the two
    return [("previous", f"{added}^"), ("oldest-lived", oldest)]


def _checkout(commit: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _server(code: Path, env: dict[str, str], workdir: Path) -> Service:
    """``python -m smartoffice server`` of the code in ``code`` (its own directory first)."""
    port = free_port()
    svc = smartoffice(
        "server",
        ["server"],
        {
            **env,
            "SMARTOFFICE_PORT": str(port),
            "SMARTOFFICE_SWEEPER": "false",  # the answers are read, nothing released meanwhile
            "PYTHONPATH": str(code),
        },
        workdir,
        port,
    )
    svc.start()
    return svc


def _questions(day: datetime) -> list[tuple[str, str, dict[str, str]]]:
    """(who, path, query): what people ask that the stored history answers."""
    b = "kemenpan-a"
    span = {"start": (day - timedelta(days=7)).isoformat(), "end": day.isoformat()}
    place = {"building": b, **span}
    return [
        ("admin", "/api/v1/users", {}),
        ("admin", "/api/v1/agencies", {}),
        ("admin", f"/api/v1/buildings/{b}", {}),
        ("admin", "/api/v1/devices", {}),
        ("admin", "/api/v1/bookings", {"building": b, "day": day.date().isoformat()}),
        ("admin", "/api/v1/reports/utilization", place),
        ("admin", "/api/v1/reports/occupancy", place),
        ("admin", "/api/v1/energy/summary", place),
        ("admin", "/api/v1/readings/counts", {"stream": "presence", "every": "1h", **span}),
        (
            "admin",
            "/api/v1/readings/series",
            {"stream": "env", "field": "co2_ppm", "every": "1h", **span},
        ),
        ("admin", "/api/v1/privacy/requests", {}),
        ("pegawai", "/api/v1/bookings", {}),
        ("pegawai", "/api/v1/me/privacy-requests", {}),
        ("manajer", "/api/v1/energy/savings", place),
    ]


def _sign_in(svc: Service, people: set[str]) -> dict[str, str]:
    tokens = {}
    for who in people:
        got = httpx.post(
            f"{svc.url}/api/v1/auth/token", data={"username": who, "password": PASSWORD}
        )
        got.raise_for_status()
        tokens[who] = got.json()["access_token"]
    return tokens


def _ask(
    svc: Service, tokens: dict[str, str], questions: list[tuple[str, str, dict[str, str]]]
) -> dict[int, Any]:
    """The answers by question; a route the release does not have yet is left out."""
    answers = {}
    for n, (who, path, query) in enumerate(questions):
        got = httpx.get(
            svc.url + path,
            params=query,
            headers={"Authorization": f"Bearer {tokens[who]}"},
            timeout=30,
        )
        if got.status_code == 404 and got.json() == {"detail": "Not Found"}:
            continue
        assert got.status_code == 200, (path, got.text[:300])
        answers[n] = got.json()
    return answers


def _fields(before: Any) -> Any:
    """The fields an answer has at each level (a list's elements merged)."""
    if isinstance(before, dict):
        return {k: _fields(v) for k, v in before.items()}
    if isinstance(before, list):
        merged: dict[str, Any] = {}
        for item in before:
            if isinstance(item, dict):
                merged |= _fields(item)
        return [merged] if merged else []
    return None


def _only(after: Any, fields: Any) -> Any:
    """``after`` restricted to ``fields``; a field that is gone shows as ``<gone>``."""
    if isinstance(fields, dict) and isinstance(after, dict):
        return {k: _only(after[k], f) if k in after else "<gone>" for k, f in fields.items()}
    if isinstance(fields, list) and isinstance(after, list):
        return [_only(x, fields[0]) if fields else x for x in after]
    return after


def _canon(answer: Any) -> Any:
    """An answer with every list in a fixed order (an earlier release may have left ties
    between equal sort keys in any order)."""
    if isinstance(answer, dict):
        return {k: _canon(v) for k, v in answer.items()}
    if isinstance(answer, list):
        return sorted((_canon(x) for x in answer), key=lambda x: json.dumps(x, sort_keys=True))
    return answer


def _as_before(before: Any, after: Any, where: str) -> None:
    """Every field of ``before`` is in ``after`` with the same value."""
    assert _canon(_only(after, _fields(before))) == _canon(before), where


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
@pytest.mark.parametrize(("release", "commit"), _releases())
def test_an_earlier_release_s_lived_in_building_answers_the_same_after_the_upgrade(
    release: str,
    commit: str,
    database: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    old = _checkout(commit, tmp_path / "old")
    env = {
        "SMARTOFFICE_DATA_DIR": str(tmp_path / "var"),
        "SMARTOFFICE_JWT_SECRET": JWT,
        "SMARTOFFICE_WEB_VENDOR_DIR": str(ROOT / "node_modules"),
    }
    if database == "postgres":
        env["SMARTOFFICE_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    day = now_utc().astimezone(WITA).replace(hour=9, minute=30, second=0, microsecond=0)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    lived = subprocess.run(
        [sys.executable, "-c", LIVE, day.isoformat(), PASSWORD],
        cwd=old,
        env={**env, "PYTHONPATH": str(old), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lived.returncode == 0, lived.stderr[-2000:]

    questions = _questions(day)
    earlier = _server(old, env, old)
    try:
        # Signed in once, on the earlier release: its tokens go on working after the
        # upgrade (and nobody's last sign-in moves).
        tokens = _sign_in(earlier, {q[0] for q in questions})
        httpx.post(
            f"{earlier.url}/api/v1/me/privacy-requests",
            json={"kind": "anonymise", "note": "pindah instansi"},
            headers={"Authorization": f"Bearer {tokens['pegawai']}"},
        ).raise_for_status()
        before = _ask(earlier, tokens, questions)
    finally:
        earlier.stop()

    current = _server(ROOT, env, tmp_path)
    try:
        after = _ask(current, tokens, questions)
    finally:
        current.stop()

    assert len(before) >= 10 and set(before) <= set(after)
    assert sum(len(b) for b in before.values() if isinstance(b, list)) > 50  # lived in
    for n, b in before.items():
        who, path, _ = questions[n]
        _as_before(b, after[n], f"{who} {path}")
