"""The whole data path with real parts: Mosquitto, gateway and server processes, InfluxDB."""

from __future__ import annotations

import json
import signal
import time

import httpx

from harness.platform import Platform, status_payload
from harness.services import Service, wait_for
from harness.services import influxd as start_influxd
from tests.e2e.conftest import Influx, desk, mosquitto_pub, room, running_fleet, stored_seqs


def test_mosquitto_pub_readings_reach_influx_with_tags(
    platform: Platform, mosquitto: Service, influx: Influx, unique_name: str
) -> None:
    d, r = f"desk-{unique_name}", f"room-{unique_name}"
    platform.register([desk(d, "d-3-001"), room(r, "r-3-01")])
    platform.start_server()
    platform.start_gateway(mosquitto.port)
    port = mosquitto.port
    mosquitto_pub(port, f"{unique_name}/v1/dev/{d}/status", status_payload("desk"), retain=True)
    mosquitto_pub(
        port,
        f"{unique_name}/v1/dev/{d}/up/presence",
        '{"v":1,"boot":1,"seq":0,"ts":1780000000000,"occupied":true,'
        '"source":"both","distance_cm":85}',
    )
    # No device clock yet: the gateway stamps the time and says so.
    mosquitto_pub(
        port,
        f"{unique_name}/v1/dev/{r}/up/env",
        '{"v":1,"boot":3,"seq":7,"co2_ppm":812,"temp_c":25.5,"rh_pct":61.5}',
    )

    wait_for(
        lambda: (
            len(influx.rows("SELECT * FROM presence")) == 1
            and len(influx.rows("SELECT * FROM env")) == 1
        ),
        "readings not in InfluxDB",
    )
    [p] = influx.rows("SELECT * FROM presence")
    assert p["time"] == 1780000000000
    assert {k: p[k] for k in ("building", "floor", "zone", "space", "space_kind", "device")} == {
        "building": "kemenpan-a",
        "floor": "f3",
        "zone": "f3-north",
        "space": "d-3-001",
        "space_kind": "desk",
        "device": d,
    }
    assert (p["occupied"], p["source"], p["distance_cm"], p["ts_gateway"]) == (1, "both", 85, 0)
    [e] = influx.rows("SELECT * FROM env")
    assert (e["space"], e["space_kind"], e["co2_ppm"], e["boot"], e["seq"]) == (
        "r-3-01",
        "room",
        812,
        3,
        7,
    )
    assert e["ts_gateway"] == 1 and abs(e["time"] - time.time() * 1000) < 60_000

    wait_for(lambda: influx.rows("SELECT * FROM status"), "status not stored")
    [s] = influx.rows("SELECT * FROM status")
    assert (s["device"], s["state"], s["kind"]) == (d, "online", "desk")

    # The read API answers from the same store.
    resp = httpx.get(
        f"{platform.server.url}/api/v1/readings/latest",  # type: ignore[union-attr]
        params={"stream": "env", "field": "co2_ppm"},
        headers=platform.headers("facility_manager"),
    )
    assert resp.status_code == 200
    assert [(v["space"], v["value"]) for v in resp.json()] == [("r-3-01", 812)]


def test_last_will_marks_device_offline(
    platform: Platform, mosquitto: Service, influx: Influx, unique_name: str
) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    d = f"desk-{unique_name}"
    platform.register([desk(d, "d-3-002")])
    platform.start_server()
    platform.start_gateway(mosquitto.port)
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=d, protocol=paho.MQTTv311)
    c.will_set(
        f"{unique_name}/v1/dev/{d}/status", status_payload("desk", "offline"), qos=1, retain=True
    )
    c.connect("127.0.0.1", mosquitto.port, keepalive=5)
    c.loop_start()
    c.publish(f"{unique_name}/v1/dev/{d}/status", status_payload("desk"), qos=1, retain=True)
    wait_for(lambda: influx.rows("SELECT state FROM status"), "online status not stored")
    c.loop_stop()
    c.socket().close()  # the device drops off the network without a DISCONNECT
    c._reset_sockets()
    wait_for(
        lambda: (
            [r["state"] for r in influx.rows("SELECT state FROM status")] == ["online", "offline"]
        ),
        "Last Will not stored",
        timeout=30,
    )


def test_gateway_killed_mid_stream_loses_and_duplicates_nothing(
    platform: Platform, mosquitto: Service, influx: Influx, unique_name: str
) -> None:
    devices, pub = running_fleet(platform, mosquitto, unique_name, 20, 150, 1500)
    wait_for(
        lambda: platform.gateway_metric("smartoffice_edge_messages_in_total") > 500,
        "gateway received nothing",
    )
    platform.gateway.stop(signal.SIGKILL)  # type: ignore[union-attr]
    time.sleep(0.5)
    platform.start_gateway(mosquitto.port)
    pub.finish()
    expected = {d: list(range(150)) for d in devices}
    wait_for(
        lambda: stored_seqs(influx, devices) == expected,
        f"not exactly once: {pub.total} published",
        timeout=60,
    )
    time.sleep(1)  # nothing more arrives late
    assert stored_seqs(influx, devices) == expected


def test_server_down_while_messages_flow_then_back(
    platform: Platform, mosquitto: Service, influx: Influx, unique_name: str
) -> None:
    devices, pub = running_fleet(platform, mosquitto, unique_name, 10, 200, 1000)
    wait_for(lambda: platform.gateway_metric("smartoffice_edge_sent_total") > 100, "nothing sent")
    platform.server.stop(signal.SIGKILL)  # type: ignore[union-attr]
    wait_for(lambda: platform.gateway_health()["outbox_depth"] > 200, "outbox did not fill")
    assert platform.gateway_health()["uplink_last_error"]
    platform.start_server()
    pub.finish()
    expected = {d: list(range(200)) for d in devices}
    wait_for(lambda: stored_seqs(influx, devices) == expected, "not exactly once", timeout=60)
    wait_for(lambda: platform.gateway_health()["outbox_depth"] == 0, "outbox not drained")


def test_influxdb_down_then_back(
    platform: Platform, mosquitto: Service, unique_name: str, tmp_path: object
) -> None:
    from pathlib import Path

    own = start_influxd(Path(str(tmp_path)) / "own-influx")
    try:
        platform.server_env["SMARTOFFICE_INFLUX_URL"] = f"http://127.0.0.1:{own.port}"
        influx = Influx(own.port, unique_name)
        devices, pub = running_fleet(platform, mosquitto, unique_name, 10, 150, 1000)
        wait_for(
            lambda: platform.gateway_metric("smartoffice_edge_sent_total") > 100, "nothing sent"
        )
        own.stop()
        wait_for(
            lambda: platform.server_metric("smartoffice_store_errors_total") > 0,
            "server never saw the store fail",
        )
        resp = httpx.get(f"{platform.server.url}/readyz")  # type: ignore[union-attr]
        assert resp.status_code == 503 and "error" in resp.json()["checks"]["readings"]
        own.start()
        pub.finish()
        expected = {d: list(range(150)) for d in devices}
        wait_for(lambda: stored_seqs(influx, devices) == expected, "not exactly once", timeout=60)
    finally:
        own.stop()


def test_resent_batch_stores_nothing_twice(
    platform: Platform, influx: Influx, unique_name: str
) -> None:
    d = f"desk-{unique_name}"
    platform.register([desk(d, "d-3-009")])
    server = platform.start_server()
    reading = {
        "device": d,
        "stream": "presence",
        "boot": 2,
        "seq": 5,
        "ts": 1780000000000,
        "ts_source": "device",
        "received": 1780000000100,
        "space": None,
        "data": {"occupied": False, "source": "mmwave"},
    }
    batch = {
        "v": 1,
        "gateway_id": platform.gateway_id,
        "batch_id": "b1",
        "readings": [reading, {**reading, "seq": 6}, {**reading, "stream": "env"}],
    }
    auth = {"Authorization": f"Bearer {platform.gateway_token}"}
    first = httpx.post(f"{server.url}/api/v1/ingest", json=batch, headers=auth).json()
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (2, 0, 1)
    assert first["rejections"][0]["index"] == 2
    assert "co2_ppm" in first["rejections"][0]["reason"]
    again = httpx.post(f"{server.url}/api/v1/ingest", json=batch, headers=auth).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 1)
    assert len(influx.rows("SELECT * FROM presence")) == 2
    # Wrong token, another gateway's id, and garbage: clear 4xx answers.
    bad = httpx.post(
        f"{server.url}/api/v1/ingest", json=batch, headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401 and "token" in bad.json()["detail"]
    other = httpx.post(
        f"{server.url}/api/v1/ingest", json={**batch, "gateway_id": "gw-other"}, headers=auth
    )
    assert other.status_code == 403
    junk = httpx.post(
        f"{server.url}/api/v1/ingest",
        content=b"\x1f\x8b garbage",
        headers={**auth, "Content-Encoding": "gzip"},
    )
    assert junk.status_code == 400 and "gzip" in junk.json()["detail"]
    shape = httpx.post(f"{server.url}/api/v1/ingest", content=json.dumps({"v": 1}), headers=auth)
    assert shape.status_code == 422 and "gateway_id" in shape.json()["detail"]
