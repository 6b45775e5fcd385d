from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from harness.platform import Platform
from harness.services import Service


def desk(device: str, space: str, zone: str = "f3-north") -> dict[str, Any]:
    return {
        "id": device,
        "kind": "desk",
        "space": {
            "building": "kemenpan-a",
            "floor": "f3",
            "zone": zone,
            "space": space,
            "space_kind": "desk",
        },
    }


def room(device: str, space: str) -> dict[str, Any]:
    return {
        "id": device,
        "kind": "room",
        "space": {
            "building": "kemenpan-a",
            "floor": "f3",
            "zone": "f3-north",
            "space": space,
            "space_kind": "room",
        },
    }


@pytest.fixture
def platform(tmp_path: Path, influxd: Service, unique_name: str) -> Iterator[Platform]:
    """Server on InfluxDB (a database of its own) and a gateway, not yet started."""
    p = Platform(
        tmp_path,
        {
            "SMARTOFFICE_READINGS_BACKEND": "influx",
            "SMARTOFFICE_INFLUX_URL": f"http://127.0.0.1:{influxd.port}",
            "SMARTOFFICE_INFLUX_DATABASE": unique_name,
        },
        gateway_id=f"gw-{unique_name}",
        base_topic=unique_name,
    )
    yield p
    p.stop()


class Influx:
    """Direct InfluxQL queries, to check what was stored without our own code."""

    def __init__(self, port: int, database: str) -> None:
        self.url = f"http://127.0.0.1:{port}/query"
        self.database = database

    def rows(self, q: str) -> list[dict[str, Any]]:
        data = httpx.get(self.url, params={"db": self.database, "q": q, "epoch": "ms"}).json()
        out = []
        for series in data["results"][0].get("series", []):
            for values in series["values"]:
                out.append(
                    {**series.get("tags", {}), **dict(zip(series["columns"], values, strict=True))}
                )
        return out


@pytest.fixture
def influx(influxd: Service, unique_name: str) -> Influx:
    return Influx(influxd.port, unique_name)


def mosquitto_pub(
    port: int,
    topic: str,
    payload: str | bytes,
    *,
    retain: bool = False,
    client_id: str | None = None,
) -> None:
    """Publish with Mosquitto's own client, at QoS 1."""
    argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic]
    if client_id:
        argv += ["-i", client_id]
    if retain:
        argv.append("-r")
    if isinstance(payload, bytes):
        argv += ["-s"]
        subprocess.run(argv, input=payload, check=True, timeout=10)
    else:
        subprocess.run([*argv, "-m", payload], check=True, timeout=10)


class Publisher:
    """Publishes a known stream of QoS 1 readings from many devices on a thread."""

    def __init__(
        self, port: int, base: str, devices: list[str], per_device: int, rate: float
    ) -> None:
        self.base = base
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id="test-publisher", protocol=paho.MQTTv311
        )
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.devices, self.per_device, self.rate = devices, per_device, rate
        self.published = 0
        self._infos: list[paho.MQTTMessageInfo] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def total(self) -> int:
        return len(self.devices) * self.per_device

    def _run(self) -> None:
        t0 = int(time.time() * 1000)
        for seq in range(self.per_device):
            for i, device in enumerate(self.devices):
                payload = {
                    "v": 1,
                    "boot": 1,
                    "seq": seq,
                    "ts": t0 + seq * 10 + i % 10,
                    "occupied": seq % 2 == 0,
                    "source": "pir",
                }
                self._infos.append(
                    self.client.publish(
                        f"{self.base}/v1/dev/{device}/up/presence", json.dumps(payload), qos=1
                    )
                )
                self.published += 1
            time.sleep(len(self.devices) / self.rate)

    def start(self) -> Publisher:
        self.thread.start()
        return self

    def finish(self) -> None:
        """Wait until the broker has acknowledged every message."""
        self.thread.join(120)
        for info in self._infos:
            info.wait_for_publish(30)
        self.client.disconnect()
        self.client.loop_stop()
        self.client._reset_sockets()  # paho leaves its wake-up socket pair to the GC


def running_fleet(
    platform: Platform,
    mosquitto: Service,
    unique_name: str,
    n: int,
    per_device: int,
    rate: int,
) -> tuple[list[str], Publisher]:
    """Register n desks, start server and gateway, and start publishing to them."""
    devices = [f"d{i:02d}-{unique_name}" for i in range(n)]
    platform.register([desk(d, f"d-{i:03d}") for i, d in enumerate(devices)])
    platform.start_server()
    platform.start_gateway(mosquitto.port)
    pub = Publisher(mosquitto.port, unique_name, devices, per_device, rate).start()
    return devices, pub


def stored_seqs(influx: Influx, devices: list[str]) -> dict[str, list[int]]:
    rows = influx.rows("SELECT seq, device FROM presence")
    out: dict[str, list[int]] = {d: [] for d in devices}
    for r in rows:
        out[r["device"]].append(r["seq"])
    return {d: sorted(v) for d, v in out.items()}
