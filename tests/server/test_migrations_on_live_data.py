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
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
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
passwords = {n: sys.argv[2] for n, *_ in demo.PEOPLE}
fleet, token, _ = demo._prepare(settings, 20, 1883, False, passwords)
until = datetime.fromisoformat(sys.argv[1])
Past(settings, fleet, demo.BUILDING, people_of(fleet)).run(days=1, until=until)
print(token)
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


def _server(
    code: Path, env: dict[str, str], workdir: Path, *, port: int = 0, jobs: bool = False
) -> Service:
    """``python -m smartoffice server`` of the code in ``code`` (its own directory first);
    without ``jobs`` nothing is released or rolled up while answers are compared."""
    port = port or free_port()
    svc = smartoffice(
        "server",
        ["server"],
        {
            **env,
            "SMARTOFFICE_PORT": str(port),
            "SMARTOFFICE_SWEEPER": "true" if jobs else "false",
            "PYTHONPATH": str(code),
        },
        workdir,
        port,
    )
    svc.start()
    return svc


def _today() -> datetime:
    day = now_utc().astimezone(WITA).replace(hour=9, minute=30, second=0, microsecond=0)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _live(code: Path, env: dict[str, str], day: datetime) -> str:
    """Let ``code`` live the demo building's days until ``day``; the gateway's token."""
    lived = subprocess.run(
        [sys.executable, "-c", LIVE, day.isoformat(), PASSWORD],
        cwd=code,
        env={**env, "PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lived.returncode == 0, lived.stderr[-2000:]
    return lived.stdout.strip().splitlines()[-1]


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
    day = _today()
    _live(old, env, day)

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

    # Every replica is stopped: what only runs then (docs/operations.md) runs now.
    upgraded = subprocess.run(
        [sys.executable, "-m", "smartoffice", "db", "upgrade", "--all-stopped"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert upgraded.returncode == 0, upgraded.stderr
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


class _Traffic:
    """People and a gateway using two replicas, as behind a load balancer, on a thread.

    Each round an employee books a desk for the next working day and cancels it, and the
    gateway's batch of readings arrives; every request goes to the next replica, and to
    the other one only when the first refuses the connection (the request was never
    sent, so nothing is done twice). A request that fails otherwise, or answers 5xx, is
    lost.
    """

    def __init__(self, urls: list[str], tokens: dict[str, str], gateway: str, day: str) -> None:
        self.urls, self.tokens, self.gateway, self.day = urls, tokens, gateway, day
        self.http = httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))
        self.lost: list[str] = []
        self.booked: list[int] = []
        self.readings = 0
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.http.close()

    def _send(self, n: int, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        for attempt in range(100):
            url = self.urls[(n + attempt) % len(self.urls)]
            try:
                got = self.http.request(
                    method, url + path, headers={"Authorization": f"Bearer {token}"}, **kw
                )
            except httpx.ConnectError:
                time.sleep(0.05)
                continue
            if got.status_code >= 500:
                self.lost.append(f"{method} {path}: {got.status_code} {got.text[:200]}")
            return got
        self.lost.append(f"{method} {path}: no replica took it")
        raise httpx.ConnectError("no replica")

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            person = f"rolling-{n % 5}"
            try:
                made = self._send(
                    n,
                    "POST",
                    "/api/v1/bookings",
                    self.tokens[person],
                    json={
                        "building": "kemenpan-a",
                        "desk": f"d-1-0{n % 5 + 10}",
                        "day": self.day,
                    },
                )
                if made.status_code == 201:
                    booking = made.json()["created"][0]["id"]
                    self.booked.append(booking)
                    self._send(n + 1, "DELETE", f"/api/v1/bookings/{booking}", self.tokens[person])
                readings = [
                    {
                        "device": f"desk-f1-0{d + 1:02d}",
                        "stream": "presence",
                        "boot": 7,
                        "seq": n,
                        "ts": 1_790_000_000_000 + n * 1000,
                        "ts_source": "device",
                        "received": 1_790_000_000_000 + n * 1000,
                        "space": None,
                        "data": {"occupied": n % 2 == 0, "source": "mmwave"},
                    }
                    for d in range(5)
                ]
                batch = {"v": 1, "gateway_id": "gw-demo", "batch_id": f"r{n}", "readings": readings}
                got = self._send(n, "POST", "/api/v1/ingest", self.gateway, json=batch)
                if got.status_code == 200:
                    self.readings += len(readings)
                else:
                    self.lost.append(f"ingest r{n}: {got.status_code} {got.text[:200]}")
            except httpx.HTTPError as exc:
                self.lost.append(f"round {n}: {exc!r}")
            self.rounds = n


def test_a_rolling_upgrade_of_two_replicas_loses_no_request(
    tmp_path: Path, postgres_url: str, influxd: Service, unique_name: str
) -> None:
    (_, commit), *_ = _releases() or [("", "")]
    if not commit:
        pytest.skip("no repository history here to take the release before from")
    old = _checkout(commit, tmp_path / "old")
    env = {
        "SMARTOFFICE_DATABASE_URL": postgres_url,
        "SMARTOFFICE_READINGS_BACKEND": "influx",
        "SMARTOFFICE_INFLUX_URL": f"http://127.0.0.1:{influxd.port}",
        "SMARTOFFICE_INFLUX_DATABASE": unique_name,
        "SMARTOFFICE_DATA_DIR": str(tmp_path / "var"),
        "SMARTOFFICE_JWT_SECRET": JWT,
        "SMARTOFFICE_WEB_VENDOR_DIR": str(ROOT / "node_modules"),
    }
    day = _today()
    # The release before keeps its lived days' readings in SQLite (its living could not
    # close an InfluxDB client); the replicas share InfluxDB.
    sqlite_readings = {k: v for k, v in env.items() if "INFLUX" not in k and v != "influx"}
    gateway = _live(old, sqlite_readings, day)
    tomorrow = day.date() + timedelta(days=1 if day.weekday() < 4 else 7 - day.weekday())
    a = _server(old, env, old, jobs=True)
    b = _server(old, env, old, jobs=True)
    admin = _sign_in(a, {"admin"})["admin"]
    for n in range(5):
        httpx.post(
            f"{a.url}/api/v1/users",
            json={
                "username": f"rolling-{n}",
                "display_name": f"ASN {n}",
                "password": PASSWORD,
                "agency": "kemenko-nusantara",
            },
            headers={"Authorization": f"Bearer {admin}"},
        ).raise_for_status()
    tokens = _sign_in(a, {f"rolling-{n}" for n in range(5)})
    replicas = {"a": a, "b": b}
    try:
        with _Traffic([a.url, b.url], tokens, gateway, tomorrow.isoformat()) as traffic:
            time.sleep(2)
            # The new release's migrations run while the release before serves on.
            upgraded = subprocess.run(
                [sys.executable, "-m", "smartoffice", "db", "upgrade"],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert upgraded.returncode == 0, upgraded.stderr
            for name in ("b", "a"):  # one replica at a time, on its own port
                time.sleep(2)
                port = replicas[name].port
                replicas[name].stop()
                replicas[name] = _server(ROOT, env, tmp_path, port=port, jobs=True)
            time.sleep(2)
    finally:
        for svc in replicas.values():
            svc.stop()

    assert traffic.lost == []
    assert traffic.rounds > 20 and len(traffic.booked) > 20
    current = _server(ROOT, env, tmp_path)
    try:
        for booking in traffic.booked:
            got = httpx.get(
                f"{current.url}/api/v1/bookings/{booking}",
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert got.status_code == 200, got.text
            assert got.json()["state"] == "cancelled"  # booked, and cancelled, once each
        stored = httpx.get(
            f"http://127.0.0.1:{influxd.port}/query",
            params={
                "db": unique_name,
                "q": "SELECT COUNT(occupied) FROM presence WHERE boot = 7",
            },
        ).json()
    finally:
        current.stop()
    counted = stored["results"][0]["series"][0]["values"][0][1]
    assert counted == traffic.readings
