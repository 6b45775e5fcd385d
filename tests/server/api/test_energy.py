"""The energy and comfort API over a running server: who may call it, what bad input is told."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from harness.layouts import one_floor
from harness.platform import Platform
from harness.services import wait_for

B = "kantor-api"
DAY = {"start": "2026-12-02T00:00", "end": "2026-12-03T00:00"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {"SMARTOFFICE_ROLLUP_EVERY_S": "0.5"}  # rollups run twice a second
    p = Platform(tmp_path_factory.mktemp("energy-api"), env, gateway_id="gw-energy-api")
    p.register([], building=B)
    p.start_server()
    layout = one_floor(B, "l1", ["m1", "m2"], rooms=["r1"])
    assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=layout).is_success
    workdays = {"public_holidays": False}  # so the test's day is never a holiday
    assert p.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=workdays).is_success
    yield p
    p.stop()


MANAGER_ONLY = [
    ("/api/v1/energy/summary", {"building": B, **DAY}),
    ("/api/v1/energy/actions", {"building": B}),
    ("/api/v1/energy/savings", {"building": B, **DAY}),
    ("/api/v1/energy/consolidation", {"building": B, "day": "2026-12-02"}),
    ("/api/v1/comfort/rooms", {"building": B, **DAY}),
    ("/api/v1/comfort/alerts", {"building": B}),
]


@pytest.mark.parametrize(("path", "params"), MANAGER_ONLY)
def test_managers_only(platform: Platform, path: str, params: dict[str, str]) -> None:
    assert platform.api("GET", path, "employee", params=params).status_code == 403
    assert platform.api("GET", path, "installer", params=params).status_code == 403
    ok = platform.api("GET", path, "facility_manager", params=params)
    assert ok.status_code == 200, ok.text


def test_an_empty_building_answers_zeros_not_errors(platform: Platform) -> None:
    s = platform.api(
        "GET",
        "/api/v1/energy/summary",
        "facility_manager",
        params={"building": B, **DAY, "every": "1mo"},
    ).json()
    assert s["totals"]["kwh"] == 0 and s["rows"] == [] and s["out_of_hours_share"] is None
    assert s["timezone"] == "Asia/Makassar" and s["start"] == "2026-12-02T00:00:00+08:00"
    assert s["power_now_w"] == 0 and "counter" in s["method"]
    actions = platform.api(
        "GET", "/api/v1/energy/actions", "facility_manager", params={"building": B}
    ).json()
    assert actions["actions_mode"] == "advise"
    saving = platform.api(
        "GET", "/api/v1/energy/savings", "facility_manager", params={"building": B, **DAY}
    ).json()
    assert (saving["setback_hours"], saving["saved_share"]) == (0, None)


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        (
            "/api/v1/energy/summary",
            {"building": B, "start": DAY["end"], "end": DAY["start"]},
            400,
            "end must be after start",
        ),
        ("/api/v1/energy/summary", {"building": "nowhere", **DAY}, 404, "no building"),
        ("/api/v1/energy/summary", {"building": B, **DAY, "every": "2d"}, 422, "every"),
        ("/api/v1/energy/summary", {"building": B, **DAY, "by": "desk"}, 422, "by"),
        (
            "/api/v1/energy/summary",
            {"building": B, "start": "2020-01-01", "end": "2026-01-01"},
            400,
            "two years",
        ),
        ("/api/v1/energy/savings", {"building": B, **DAY, "circuits": "gas"}, 400, "gas"),
        ("/api/v1/energy/consolidation", {"building": B, "day": "tomorrow"}, 422, "day"),
        ("/api/v1/comfort/rooms", {"building": B, **DAY, "by": "desk"}, 422, "by"),
    ],
)
def test_bad_queries_are_told_what_is_wrong(
    platform: Platform, path: str, params: dict[str, str], status: int, says: str
) -> None:
    r = platform.api("GET", path, "facility_manager", params=params)
    assert r.status_code == status, r.text
    assert says in r.text


def test_everyone_may_ask_for_desks_in_active_zones(platform: Platform) -> None:
    # Next week's Wednesday: within the default booking window, on a default working day.
    today = datetime.now(ZoneInfo("Asia/Makassar")).date()
    day = today + timedelta(days=7 + (2 - today.weekday()) % 7)
    slot = {"building": B, "start": f"{day}T09:00", "end": f"{day}T11:00"}
    r = platform.api("GET", "/api/v1/availability/suggestions", "employee", params=slot)
    assert r.status_code == 200, r.text
    assert [d["desk"]["id"] for d in r.json()] == ["m1", "m2"]
    assert all(d["zone_activity"] == 0 for d in r.json())


def ingest(platform: Platform, device: str, watts: float, start: int, end: int) -> None:
    """A gateway delivers a meter's readings, one a minute, from ``start`` to ``end``."""
    assert platform.server is not None
    space = {"building": B, "floor": "l1", "zone": "l1-a", "space": "l1-a", "space_kind": "zone"}
    # The server stores a reading only for a device registered to the sending gateway.
    platform.register([{"id": device, "kind": "energy", "space": space}])
    readings = [
        {
            "device": device,
            "stream": "energy",
            "boot": 1,
            "seq": i,
            "ts": ts,
            "ts_source": "device",
            "received": ts,
            "space": space,
            "data": {
                "power_w": watts,
                "energy_wh": float(int(5000 + watts * i / 60)),
                "circuit": "hvac",
            },
        }
        for i, ts in enumerate(range(start, end + 1, 60_000))
    ]
    r = httpx.post(
        f"{platform.server.url}/api/v1/ingest",
        json={
            "v": 1,
            "gateway_id": platform.gateway_id,
            "batch_id": f"{device}-{start}",
            "readings": readings,
        },
        headers={"Authorization": f"Bearer {platform.gateway_token}"},
    )
    assert r.json()["accepted"] == len(readings), r.text


def test_late_readings_are_counted_and_rolled_up_again(platform: Platform) -> None:
    now = int(time.time() * 1000)
    hour = now - now % 3_600_000
    start, end = hour - 5 * 3_600_000, hour - 3 * 3_600_000
    period = {"building": B, "start": _iso(start - 3_600_000), "end": _iso(hour), "by": "circuit"}

    def hvac_kwh() -> float:
        s = platform.api("GET", "/api/v1/energy/summary", "facility_manager", params=period)
        return float(s.json()["totals"]["circuits"].get("hvac", 0.0))

    def rolled_until() -> float:
        return platform.server_metric(
            f'smartoffice_rollup_done_until_timestamp_seconds{{building="{B}"}}'
        )

    ingest(platform, "em-1", 600.0, start, end)
    wait_for(lambda: rolled_until() * 1000 >= hour - 3_600_000, "rollups never caught up")
    assert hvac_kwh() == pytest.approx(1.2, abs=0.002)  # two hours at 600 W, from rollups
    # The gateway of another floor was cut off for hours: its meter's readings arrive now.
    ingest(platform, "em-2", 300.0, start, end)
    assert hvac_kwh() == pytest.approx(1.8, abs=0.002)  # at once, from raw readings

    def rolled_wh() -> float:  # what the rollups themselves hold now
        with sqlite3.connect(platform.workdir / "server" / "readings.db") as c:
            q = "SELECT sum(json_extract(fields, '$.wh')) FROM rollups WHERE kind = 'energy'"
            return float(c.execute(q).fetchone()[0] or 0.0)

    wait_for(lambda: abs(rolled_wh() - 1800.0) < 2, "the late hours were never rolled up again")
    assert hvac_kwh() == pytest.approx(1.8, abs=0.002)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo("Asia/Makassar")).isoformat()
