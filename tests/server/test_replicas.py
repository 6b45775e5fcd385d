"""Two server replicas on one PostgreSQL: the periodic jobs run in one of them at a time,
and a live event made through one reaches the maps connected to the other."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from harness.layouts import one_floor
from harness.platform import Platform
from harness.services import wait_for
from server.clock import WITA

B = "kantor-r"
ALWAYS = {
    "open_minute": 0,
    "close_minute": 1440,
    "weekdays": [0, 1, 2, 3, 4, 5, 6],
    "public_holidays": False,
}


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Platform, Platform]]:
    env = {
        "SMARTOFFICE_DATABASE_URL": postgres_url,
        "SMARTOFFICE_BOOKING_SWEEP_S": "0.2",
        "SMARTOFFICE_JOBS_LOCK_RETRY_S": "0.3",
    }
    a = Platform(tmp_path / "a", dict(env), gateway_id="gw-r")
    a.register([], building=B)
    # The second replica: the same database and signing secret, registered by the first.
    (tmp_path / "b" / "server").mkdir(parents=True)
    b = Platform(
        tmp_path / "b",
        dict(env),
        gateway_id="gw-r",
        gateway_token=a.gateway_token,
        jwt_secret=a.jwt_secret,
    )
    try:
        a.start_server()
        b.start_server()
        assert a.api(
            "PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, "l1", ["m1", "m2"])
        ).is_success
        assert a.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=ALWAYS).is_success
        yield a, b
    finally:
        a.stop()
        b.stop()


def runs_jobs(p: Platform) -> bool:
    assert p.server is not None
    text = httpx.get(f"{p.server.url}/metrics", timeout=5).text
    return any(line == "smartoffice_jobs_runner 1.0" for line in text.splitlines())


def lock_holders(database_url: str) -> list[str]:
    """The state of each session that holds the job lock."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted"
        ).fetchall()
    return [r[0] for r in rows]


def no_show(p: Platform, desk: str) -> str:
    """Book ``desk`` from 20 minutes ago through ``p``: nobody checks in, so the sweep
    releases it as a no-show. Returns the booking's path."""
    now = datetime.now(WITA).replace(microsecond=0)
    slot = {
        "building": B,
        "desk": desk,
        "start": (now - timedelta(minutes=20)).isoformat(),
        "end": (now + timedelta(minutes=40)).isoformat(),
    }
    made = p.api("POST", "/api/v1/bookings", "employee", json=slot).json()["created"][0]
    return f"/api/v1/bookings/{made['id']}"


def test_one_replica_at_a_time_runs_the_jobs_and_another_takes_over(
    replicas: tuple[Platform, Platform],
) -> None:
    a, b = replicas
    wait_for(lambda: runs_jobs(a) or runs_jobs(b), "no replica runs the jobs")
    for _ in range(5):  # and never both, as long as we look
        assert [runs_jobs(a), runs_jobs(b)].count(True) == 1
        time.sleep(0.2)
    runner, other = (a, b) if runs_jobs(a) else (b, a)
    # The runner's lock is held by an idle session, never by a transaction left open
    # (that would hold back vacuum and be cut by idle_in_transaction_session_timeout).
    time.sleep(1)  # a few of the runner's checks that it still holds the lock
    assert lock_holders(a.database_url) == ["idle"]
    first = no_show(other, "m1")
    wait_for(
        lambda: other.api("GET", first, "employee").json()["outcome"] == "no_show",
        "the job runner did not release the no-show",
    )

    assert runner.server is not None
    runner.server.stop()  # the runner goes away: its session, and its lock, with it
    wait_for(lambda: runs_jobs(other), "the other replica did not take the jobs over")
    second = no_show(other, "m2")
    wait_for(
        lambda: other.api("GET", second, "employee").json()["outcome"] == "no_show",
        "the new job runner did not release the no-show",
    )


def test_a_change_through_one_replica_reaches_the_maps_of_the_other(
    replicas: tuple[Platform, Platform],
) -> None:
    a, b = replicas
    assert b.server is not None
    lines: list[str] = []
    connected = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"{b.server.url}/api/v1/events",
            params={"building": B},
            headers=b.headers("employee"),
            timeout=30,
        ) as resp:
            for line in resp.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                lines.append(line)
                if done.is_set() or any('"desk":"m2"' in x.replace(" ", "") for x in lines):
                    return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    try:
        assert connected.wait(10), "the event stream did not open"
        now = datetime.now(WITA).replace(microsecond=0)
        # Within the check-in window, so the desk awaits its person at any hour (a booking an
        # hour ahead shows "booked" only while it starts today in WITA: not after 23.00).
        slot = {
            "building": B,
            "desk": "m2",
            "start": (now + timedelta(minutes=5)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        }
        assert a.api("POST", "/api/v1/bookings", "employee", json=slot).status_code == 201
        wait_for(
            lambda: any('"desk":"m2"' in x.replace(" ", "") for x in lines),
            "replica b's map did not hear of the booking made through replica a",
        )
    finally:
        done.set()
        reader.join(35)
    event = next(x for x in lines if '"desk":"m2"' in x.replace(" ", ""))
    assert event.startswith("data:") and '"state":"awaiting_checkin"' in event.replace(" ", "")
