"""The read API over a running server: who may call it, and what bad queries are told."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.platform import Platform
from tests.e2e.conftest import room

T0 = 1_780_000_000_000  # 2026-05-28 20:26:40 UTC = 2026-05-29 04:26:40 WITA


@pytest.fixture
def platform(tmp_path: Path, unique_name: str) -> Iterator[Platform]:
    p = Platform(tmp_path, {}, gateway_id=f"gw-{unique_name}")
    p.register([room("room-a", "r-1")])
    p.start_server()
    assert p.server is not None
    readings = [
        {
            "device": "room-a",
            "stream": "env",
            "boot": 1,
            "seq": i,
            "ts": T0 + i * 60_000,
            "ts_source": "device",
            "received": T0,
            "space": {
                "building": "kemenpan-a",
                "floor": "f3",
                "zone": "f3-north",
                "space": "r-1",
                "space_kind": "room",
            },
            "data": {"co2_ppm": 400 + 10 * i, "temp_c": 24, "rh_pct": 50},
        }
        for i in range(10)
    ]
    r = httpx.post(
        f"{p.server.url}/api/v1/ingest",
        json={"v": 1, "gateway_id": p.gateway_id, "batch_id": "b", "readings": readings},
        headers={"Authorization": f"Bearer {p.gateway_token}"},
    )
    assert r.json()["accepted"] == 10
    yield p
    p.stop()


def get(
    p: Platform, path: str, role: str | None = "facility_manager", **params: str
) -> httpx.Response:
    assert p.server is not None
    headers = p.headers(role) if role else {}
    return httpx.get(f"{p.server.url}/api/v1/readings/{path}", params=params, headers=headers)


def test_series_in_wita_windows(platform: Platform) -> None:
    r = get(
        platform,
        "series",
        stream="env",
        field="co2_ppm",
        agg="max",
        start="2026-05-29T04:00",
        end="2026-05-29T05:00",
        every="5m",
    )
    assert r.status_code == 200
    assert r.json() == [
        {"start": "2026-05-29T04:25:00+08:00", "value": 430.0},
        {"start": "2026-05-29T04:30:00+08:00", "value": 480.0},
        {"start": "2026-05-29T04:35:00+08:00", "value": 490.0},
    ]
    # A WITA day runs midnight to midnight at UTC+8, so the day's windows are offset -8 h.
    counts = get(
        platform,
        "counts",
        stream="env",
        start="2026-05-29T00:00+08:00",
        end="2026-05-30T00:00+08:00",
        every="1d",
        offset="-8h",
    )
    assert counts.json() == [{"start": "2026-05-29T00:00:00+08:00", "value": 10.0}]


def test_only_managers_read(platform: Platform) -> None:
    assert get(platform, "latest", role=None, stream="env", field="co2_ppm").status_code == 401
    assert platform.server is not None
    wrong = httpx.get(
        f"{platform.server.url}/api/v1/readings/latest",
        params={"stream": "env", "field": "co2_ppm"},
        headers={"Authorization": "Bearer nope"},
    )
    assert wrong.status_code == 401 and "invalid token" in wrong.json()["detail"]
    for role in ("employee", "installer"):
        refused = get(platform, "latest", role=role, stream="env", field="co2_ppm")
        assert refused.status_code == 403
        assert "Facility manager or Administrator" in refused.json()["detail"]
    for role in ("facility_manager", "admin"):
        ok = get(platform, "latest", role=role, stream="env", field="co2_ppm")
        assert [(v["space"], v["value"]) for v in ok.json()] == [("r-1", 490.0)]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"stream": "env", "field": "smell"}, "no field 'smell'"),
        ({"stream": "noise", "field": "db"}, "unknown stream"),
        ({"stream": "env", "field": "co2_ppm", "every": "soon"}, "every: 'soon'"),
        ({"stream": "env", "field": "co2_ppm", "end": "2026-05-27"}, "end must be after start"),
        ({"stream": "env", "field": "co2_ppm", "agg": "median"}, "agg"),
    ],
)
def test_bad_queries_get_a_400_that_says_why(
    platform: Platform, params: dict[str, str], message: str
) -> None:
    query = {"start": "2026-05-28", "end": "2026-05-29", "every": "1h", **params}
    r = get(platform, "series", **query)
    assert r.status_code in (400, 422)
    assert message in str(r.json()["detail"])
