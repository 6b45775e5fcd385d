"""The gateway's data path holds against a poisoned reading and a node that starts over.

Real Mosquitto, a real gateway and a real server process on SQLite; the judge reads the
server's reading store with sqlite3 directly.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Callable
from typing import Any

import httpx

from edge.app import Gateway
from edge.uplink import OutboxSender
from harness.mqtt_client import DeviceClient
from harness.platform import Platform
from harness.services import Service, wait_for


def stored(platform: Platform, stream: str = "presence") -> list[tuple[Any, ...]]:
    path = platform.workdir / "server" / "readings.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT boot, seq, fields FROM readings WHERE stream = ? ORDER BY ts", (stream,)
        ).fetchall()


def presence(seq: int, **over: Any) -> str:
    return json.dumps(
        {"v": 1, "boot": 1, "seq": seq, "occupied": seq % 2 == 0, "source": "pir", **over}
    )


def test_a_heartbeat_beyond_int64_holds_up_none_of_the_readings_behind_it(
    gateway_factory: Callable[..., Gateway],
    sqlite_platform: Platform,
    mosquitto: Service,
    unique_name: str,
) -> None:
    """The issue's exact case: uptime_s = 2**63, then more than a batch of valid readings."""
    device = f"desk-{unique_name}"
    gw = gateway_factory([device], batch_size=50)
    node = DeviceClient(mosquitto.port, None, None)
    base = f"{unique_name}/v1/dev/{device}/up"
    node.publish(
        f"{base}/heartbeat",
        json.dumps(
            {
                "v": 1,
                "boot": 1,
                "seq": 0,
                "uptime_s": 9223372036854775808,
                "rssi_dbm": -60,
                "heap_free": 40000,
                "fw": "1.1.0",
                "buffered": 0,
                "dropped": 0,
            }
        ),
    )
    for seq in range(1, 131):
        node.publish(f"{base}/presence", presence(seq))
    node.close()
    wait_for(lambda: len(stored(sqlite_platform)) == 130, "valid readings not all stored")
    assert [s for _, s, _ in stored(sqlite_platform)] == list(range(1, 131))
    [q] = gw.outbox.quarantined()
    assert q.topic == f"{base}/heartbeat"
    assert "uptime_s: Input should be less than or equal to 2147483647" in q.reason
    assert gw.metrics.invalid.labels("payload")._value.get() == 1
    assert stored(sqlite_platform, "heartbeat") == []


def test_a_row_the_server_cannot_read_is_set_aside_and_the_queue_moves_on(
    gateway_factory: Callable[..., Gateway], sqlite_platform: Platform, unique_name: str
) -> None:
    """A damaged outbox row makes the whole batch unreadable (422): the gateway narrows
    the batch down to that row, sets it aside as a dead letter, and sends the rest."""
    device = f"desk-{unique_name}"
    gw = gateway_factory([device], batch_size=64)
    gw.uplink.stop()  # fill the outbox first, then send it all in one go

    def row(seq: int) -> bytes:
        return json.dumps(
            {
                "device": device,
                "stream": "presence",
                "boot": 1,
                "seq": seq,
                "ts": 1780000000000 + seq,
                "ts_source": "device",
                "received": 1780000000000 + seq,
                "space": None,
                "data": {"occupied": True, "source": "pir"},
            }
        ).encode()

    with gw.outbox.transaction() as tx:
        tx.enqueue(
            [row(s) for s in range(40)]
            + [b'{"device": "' + device.encode() + b'", "bro']
            + [row(s) for s in range(40, 100)]
        )
    uplink = OutboxSender(
        outbox=gw.outbox,
        http=gw.http,
        gateway_id=gw.settings.gateway_id,
        metrics=gw.metrics,
        batch_size=64,
        backoff_initial_s=0.05,
        backoff_max_s=0.1,
    )
    for _ in range(40):
        rows = gw.outbox.peek(uplink.batch_size)
        if not rows:
            break
        uplink.step(rows)
    assert gw.outbox.depth == 0
    assert [s for _, s, _ in stored(sqlite_platform)] == list(range(100))
    [dead] = gw.outbox.quarantined()
    assert dead.topic == "(outbox)" and dead.payload.endswith(b'"bro')
    assert dead.reason.startswith("refused by server: HTTP 422")
    assert gw.outbox.dead_letters == 1
    assert gw.health()[1]["dead_letters"] == 1
    assert uplink.batch_size == 64  # back to full batches once past it


def test_backoff_stays_capped_so_a_short_outage_costs_seconds_not_minutes() -> None:
    uplink = OutboxSender(
        outbox=None,
        http=None,
        gateway_id="gw-x",
        metrics=None,  # type: ignore[arg-type]
        batch_size=10,
        backoff_initial_s=0.5,
        backoff_max_s=10.0,
    )
    uplink.failures = 60  # a 30 s outage is a dozen failures; a day of them changes nothing
    assert all(0.25 <= uplink.backoff_s() <= 10.0 for _ in range(1000))


def test_a_node_that_starts_over_loses_none_of_its_new_readings(
    gateway_factory: Callable[..., Gateway],
    sqlite_platform: Platform,
    mosquitto: Service,
    unique_name: str,
) -> None:
    """Boot 1, seq 0-9 an hour ago; factory reset; boot 1, seq 0-9 again with new values.

    The issue saw 10 of 20 stored. The boot id (new at every boot) tells the two apart,
    while a redelivered copy of either is still a duplicate.
    """
    device = f"desk-{unique_name}"
    gw = gateway_factory([device])
    node = DeviceClient(mosquitto.port, None, None)
    topic = f"{unique_name}/v1/dev/{device}/up/presence"
    for seq in range(10):
        node.publish(topic, presence(seq, bid=3_000_000_001, ts=1780000000000 + seq))
    for seq in range(10):  # after the reset: a new boot id, new values
        node.publish(topic, presence(seq, bid=77, ts=1780003600000 + seq, occupied=True))
    for seq in range(10):  # the broker redelivers the first boot's messages
        node.publish(topic, presence(seq, bid=3_000_000_001, ts=1780000000000 + seq))
    node.close()
    wait_for(lambda: gw.metrics.duplicates._value.get() == 10, "redelivered copies not seen")
    wait_for(lambda: len(stored(sqlite_platform)) == 20, "readings of the new boot lost")
    bids = [json.loads(f)["bid"] for _, _, f in stored(sqlite_platform)]
    assert bids == [3_000_000_001] * 10 + [77] * 10


def test_a_stuck_building_shows_in_the_gateways_and_the_servers_health(
    gateway_factory: Callable[..., Gateway],
    sqlite_platform: Platform,
    mosquitto: Service,
    unique_name: str,
) -> None:
    device = f"desk-{unique_name}"
    gw = gateway_factory([device], stall_alert_s=1.0)
    server = sqlite_platform.server
    assert server is not None
    assert gw.health()[0], gw.health()
    server.stop(signal.SIGKILL)
    node = DeviceClient(mosquitto.port, None, None)
    node.publish(f"{unique_name}/v1/dev/{device}/up/presence", presence(0))
    node.close()

    seen: list[dict[str, Any]] = []

    def unhealthy() -> bool:
        answer = httpx.get(f"http://127.0.0.1:{gw.http_server.port}/healthz")
        seen.append(answer.json())
        return answer.status_code == 503

    wait_for(unhealthy, "a gateway holding readings it cannot send stays healthy")
    body = seen[-1]
    assert any("oldest unsent reading" in t for t in body["troubles"]), body
    assert body["outbox_depth"] == 1 and body["uplink_last_error"]
    metrics = httpx.get(f"http://127.0.0.1:{gw.http_server.port}/metrics").text
    assert "smartoffice_edge_outbox_oldest_age_seconds" in metrics

    sqlite_platform.start_server()
    wait_for(lambda: gw.outbox.depth == 0, "outbox not drained when the server came back")
    wait_for(lambda: gw.health()[0], "the gateway did not recover")


def test_the_server_names_a_gateway_that_holds_readings_it_cannot_deliver(
    sqlite_platform: Platform, unique_name: str
) -> None:
    """A gateway says on every request what it holds unsent; a stuck one shows on the
    server (gateway list, /healthz, metrics) even while it still polls."""
    sqlite_platform.register([])
    server = sqlite_platform.start_server()
    gateway = sqlite_platform.gateway_id
    answer = httpx.get(
        f"{server.url}/api/v1/gateway/registry",
        headers={
            "Authorization": f"Bearer {sqlite_platform.gateway_token}",
            "X-Outbox-Depth": "1234",
            "X-Outbox-Oldest-Age-Ms": "900000",
            "X-Dead-Letters": "2",
        },
    )
    assert answer.status_code == 200
    [gw] = [g for g in sqlite_platform.api("GET", "/api/v1/gateways").json() if g["id"] == gateway]
    assert (gw["outbox_depth"], gw["dead_letters"]) == (1234, 2)
    trouble = f"gateway {gateway} holds 1234 unsent readings, the oldest 15 min old"
    assert gw["troubles"] == [trouble]
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 200  # liveness: the server itself is fine
    assert health.json()["status"] == "degraded" and health.json()["troubles"] == [trouble]
    assert (
        sqlite_platform.server_metric(
            f'smartoffice_gateway_oldest_unsent_age_seconds{{gateway="{gateway}"}}'
        )
        >= 900
    )
