"""Bad input is quarantined with its reason and counted; the gateway keeps serving."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from edge.app import Gateway
from harness.services import Service, wait_for
from tests.e2e.conftest import mosquitto_pub

GOOD = {"v": 1, "boot": 1, "seq": 0, "occupied": True, "source": "pir"}

BAD: list[tuple[str, str, bytes, str]] = [
    ("truncated JSON", "presence", b'{"v":1,"boot":1,"seq":1,"occ', "Invalid JSON"),
    (
        "wrong types",
        "presence",
        b'{"v":1,"boot":"1","seq":2,"occupied":"yes","source":"pir"}',
        "boot",
    ),
    (
        "out of range",
        "env",
        b'{"v":1,"boot":1,"seq":3,"co2_ppm":-5,"temp_c":22,"rh_pct":140}',
        "rh_pct",
    ),
    (
        "oversize",
        "presence",
        json.dumps({**GOOD, "seq": 4, "pad": "x" * 2000}).encode(),
        "limit is 1024",
    ),
    ("binary garbage", "env", bytes(range(256)), "not a JSON object"),
    ("unknown field", "presence", json.dumps({**GOOD, "seq": 5, "x": 1}).encode(), "Extra inputs"),
    ("wrong schema version", "presence", json.dumps({**GOOD, "seq": 6, "v": 2}).encode(), "v:"),
    ("clock never set", "presence", json.dumps({**GOOD, "seq": 7, "ts": 5}).encode(), "ts:"),
]


@pytest.mark.parametrize(("name", "stream", "payload", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_payloads_are_quarantined_with_reason(
    gateway_factory: Callable[..., Gateway],
    mosquitto: Service,
    unique_name: str,
    name: str,
    stream: str,
    payload: bytes,
    reason: str,
) -> None:
    device = f"desk-{unique_name}"
    gw = gateway_factory([device])
    mosquitto_pub(mosquitto.port, f"{unique_name}/v1/dev/{device}/up/{stream}", payload)
    wait_for(lambda: gw.outbox.quarantined(), f"{name} was not quarantined")
    [q] = gw.outbox.quarantined()
    assert reason in q.reason, q.reason
    assert q.topic == f"{unique_name}/v1/dev/{device}/up/{stream}"
    assert q.payload == payload[:4096]
    # Still healthy, and valid traffic from the same device goes through.
    mosquitto_pub(mosquitto.port, f"{unique_name}/v1/dev/{device}/up/presence", json.dumps(GOOD))
    wait_for(lambda: gw.metrics.sent._value.get() == 1, "valid reading not sent")
    health = httpx.get(f"http://127.0.0.1:{gw.http_server.port}/healthz").json()
    assert health["status"] == "ok"
    metrics = httpx.get(f"http://127.0.0.1:{gw.http_server.port}/metrics").text
    assert 'smartoffice_edge_invalid_total{reason="payload"} 1.0' in metrics


def test_unknown_device_and_bad_topics(
    gateway_factory: Callable[..., Gateway], mosquitto: Service, unique_name: str
) -> None:
    gw = gateway_factory([f"desk-{unique_name}"])
    payload = json.dumps(GOOD)
    mosquitto_pub(
        mosquitto.port, f"{unique_name}/v1/dev/stranger-{unique_name}/up/presence", payload
    )
    mosquitto_pub(mosquitto.port, f"{unique_name}/v1/dev/desk-{unique_name}/up/smell", payload)
    mosquitto_pub(mosquitto.port, f"{unique_name}/v1/dev/NOT_AN_ID/up/presence", payload)
    mosquitto_pub(
        mosquitto.port,
        f"{unique_name}/v1/dev/stranger-{unique_name}/status",
        '{"v":1,"state":"online","boot":1,"fw":"1","kind":"desk"}',
    )
    wait_for(lambda: len(gw.outbox.quarantined()) == 4, "not all quarantined")
    reasons = sorted(q.reason for q in gw.outbox.quarantined())
    assert "not registered" in reasons[0] and "not registered" in reasons[1]
    assert any("invalid id 'NOT_AN_ID'" in r for r in reasons)
    assert any("unknown stream 'smell'" in r for r in reasons)
    assert gw.metrics.invalid.labels("unknown_device")._value.get() == 2
    assert gw.metrics.invalid.labels("topic")._value.get() == 2


def test_duplicates_suppressed_and_gaps_counted(
    gateway_factory: Callable[..., Gateway], mosquitto: Service, unique_name: str
) -> None:
    device = f"desk-{unique_name}"
    gw = gateway_factory([device])
    topic = f"{unique_name}/v1/dev/{device}/up/presence"
    for seq in (0, 1, 1, 2, 5, 2, 6):  # 1 and 2 twice; 3 and 4 never arrive
        mosquitto_pub(mosquitto.port, topic, json.dumps({**GOOD, "seq": seq}))
    wait_for(lambda: gw.metrics.messages_in._value.get() == 7, "not all received")
    assert gw.metrics.duplicates._value.get() == 2
    assert gw.outbox.devices[device].gaps == 2
    # A late arrival fills a gap; a reboot starts a new sequence from 0.
    mosquitto_pub(mosquitto.port, topic, json.dumps({**GOOD, "seq": 3}))
    mosquitto_pub(mosquitto.port, topic, json.dumps({**GOOD, "boot": 2, "seq": 1}))
    wait_for(lambda: gw.metrics.messages_in._value.get() == 9, "not all received")
    assert gw.outbox.devices[device].gaps == 2  # seq 4 of boot 1, seq 0 of boot 2
    wait_for(lambda: gw.metrics.sent._value.get() == 7, "not all sent")
    # Boot 3 (firmware with boot ids), then the node starts over: boot 1 again with a new
    # boot id is a new boot, and its seq 0 is missing; a straggler of boot 3 counts for nothing.
    for msg in (
        {"boot": 3, "bid": 7, "seq": 0},
        {"boot": 3, "bid": 7, "seq": 1},
        {"boot": 1, "bid": 8, "seq": 1},
        {"boot": 3, "bid": 7, "seq": 2},
        {"boot": 1, "bid": 8, "seq": 2},
    ):
        mosquitto_pub(mosquitto.port, topic, json.dumps({**GOOD, **msg}))
    wait_for(lambda: gw.metrics.messages_in._value.get() == 14, "not all received")
    state = gw.outbox.devices[device]
    assert (state.boot, state.bid, state.max_seq, state.gaps) == (1, 8, 2, 3)
