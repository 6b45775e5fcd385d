from __future__ import annotations

import json

import pytest

from contracts.exceptions import PayloadError
from contracts.payloads import Env, Presence, parse_status, parse_uplink

BASE = {"v": 1, "boot": 1, "seq": 0}


def up(stream: str, **fields: object) -> bytes:
    return json.dumps({**BASE, **fields}).encode()


def test_valid_messages_of_every_stream() -> None:
    assert isinstance(
        parse_uplink("presence", up("presence", occupied=False, source="mmwave")), Presence
    )
    env = parse_uplink("env", up("env", co2_ppm=600, temp_c=24.5, rh_pct=55, ts=1780000000000))
    assert isinstance(env, Env) and env.co2_ppm == 600.0 and env.ts == 1780000000000
    parse_uplink("energy", up("energy", power_w=10.5, energy_wh=1234, pf=0.9, circuit="hvac"))
    parse_uplink("people", up("people", count=3))
    parse_uplink(
        "heartbeat",
        up(
            "heartbeat", uptime_s=10, rssi_dbm=-60, heap_free=50000, fw="1.0", buffered=0, dropped=0
        ),
    )
    parse_uplink("ack", up("ack", cmd_id="c1", ok=False, error="no such key"))
    assert parse_status(b'{"v":1,"state":"offline","boot":3,"fw":"1","kind":"room"}').boot == 3


@pytest.mark.parametrize(
    ("stream", "fields", "reason"),
    [
        ("env", {"co2_ppm": -5, "temp_c": 20, "rh_pct": 50}, "co2_ppm: Input should be greater"),
        ("env", {"co2_ppm": 500, "temp_c": 20, "rh_pct": 140}, "rh_pct: Input should be less"),
        ("env", {"co2_ppm": 500, "temp_c": 120, "rh_pct": 50}, "temp_c"),
        ("env", {"co2_ppm": 500, "temp_c": 20}, "rh_pct: Field required"),
        ("energy", {"power_w": -1, "energy_wh": 0}, "power_w"),
        ("energy", {"power_w": 1, "energy_wh": 0, "pf": 1.5}, "pf"),
        ("energy", {"power_w": 1, "energy_wh": 0, "circuit": "a b"}, "circuit"),
        ("presence", {"occupied": 1, "source": "pir"}, "occupied: Input should be a valid bool"),
        ("presence", {"occupied": True, "source": "camera"}, "source"),
        ("people", {"count": 2.5}, "count"),
        ("people", {"count": "3"}, "count"),
        (
            "heartbeat",
            {"uptime_s": 1, "rssi_dbm": 5, "heap_free": 1, "fw": "x", "buffered": 0, "dropped": 0},
            "rssi_dbm",
        ),
        ("presence", {"occupied": True, "source": "pir", "seq": -1}, "seq"),
        ("presence", {"occupied": True, "source": "pir", "ts": 1000}, "ts"),
    ],
)
def test_out_of_range_and_wrong_types_name_the_field(
    stream: str, fields: dict[str, object], reason: str
) -> None:
    with pytest.raises(PayloadError, match=reason):
        parse_uplink(stream, up(stream, **fields))


def test_limits_and_garbage() -> None:
    with pytest.raises(PayloadError, match="1024"):
        parse_uplink("people", up("people", count=1, pad="x" * 1100))
    with pytest.raises(PayloadError, match="not a JSON object"):
        parse_uplink("people", b"[1,2]")
    with pytest.raises(PayloadError, match="Invalid JSON"):
        parse_uplink("people", b'{"v":1,')
    with pytest.raises(PayloadError, match="unknown stream"):
        parse_uplink("nope", b"{}")
    with pytest.raises(PayloadError, match="v: Input should be 1"):
        parse_uplink("people", json.dumps({**BASE, "v": 2, "count": 1}).encode())
