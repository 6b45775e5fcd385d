"""A simple simulated fleet: desks, rooms and energy meters speaking the wire contract.

Every device is its own MQTT client (client id = device id) with its retained status and
Last Will, a boot counter and a per-boot sequence. Occupancy follows an office day in
WITA: arrivals from 07:30, a lunch dip, departures after 16:00, some desks never used.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from contracts.topics import Topics

logger = logging.getLogger(__name__)
WITA = ZoneInfo("Asia/Makassar")
DESKS_PER_FLOOR = 50
FW = "sim-0.1.0"


def occupancy_chance(now: datetime) -> float:
    """Share of desks in use at a WITA time of day on a working day."""
    if now.weekday() >= 5:
        return 0.02
    h = now.hour + now.minute / 60
    if h < 7.5 or h >= 18:
        return 0.0
    if h < 9:
        return 0.7 * (h - 7.5) / 1.5
    if 12 <= h < 13:
        return 0.35
    if h >= 16:
        return 0.7 * (18 - h) / 2
    return 0.7


@dataclass
class SimDevice:
    """One simulated node and its protocol state."""

    device_id: str
    kind: str
    space: dict[str, str]
    boot: int = field(default_factory=lambda: random.randint(1, 50))  # noqa: S311
    seq: int = 0
    occupied: bool = False
    people: int = 0
    co2: float = 420.0
    energy_wh: float = field(default_factory=lambda: random.uniform(1e5, 1e6))  # noqa: S311
    next_due: dict[str, float] = field(default_factory=dict)
    client: paho.Client | None = None

    def envelope(self) -> dict[str, Any]:
        """v, boot, seq and ts for the next uplink."""
        env = {"v": 1, "boot": self.boot, "seq": self.seq, "ts": int(time.time() * 1000)}
        self.seq += 1
        return env


class Fleet:
    """Many simulated devices driven from one thread."""

    def __init__(self, devices: list[SimDevice], topics: Topics | None = None) -> None:
        self.devices = devices
        self.topics = topics or Topics()
        self._stop = threading.Event()
        self.published = 0

    @classmethod
    def office(cls, *, building: str, desks: int) -> Fleet:
        """A building with ``desks`` desks, one room per 10 desks, one meter per zone."""
        devices: list[SimDevice] = []
        floors = max(1, -(-desks // DESKS_PER_FLOOR))
        for f in range(1, floors + 1):
            on_floor = min(DESKS_PER_FLOOR, desks - (f - 1) * DESKS_PER_FLOOR)
            for zone in ("north", "south"):
                z = f"f{f}-{zone}"
                devices.append(
                    SimDevice(f"em-{building}-{z}", "energy", _space(building, f, z, z, "zone"))
                )
            for d in range(on_floor):
                z = f"f{f}-{'north' if d < on_floor / 2 else 'south'}"
                devices.append(
                    SimDevice(
                        f"desk-f{f}-{d + 1:03d}",
                        "desk",
                        _space(building, f, z, f"d-{f}-{d + 1:03d}", "desk"),
                    )
                )
                if d % 10 == 0:
                    devices.append(
                        SimDevice(
                            f"room-f{f}-{d // 10 + 1:02d}",
                            "room",
                            _space(building, f, z, f"r-{f}-{d // 10 + 1:02d}", "room"),
                        )
                    )
        return cls(devices)

    def registry(self, gateway: str) -> dict[str, Any]:
        """A registry document for ``smartoffice registry import``."""
        return {
            "gateways": [gateway],
            "devices": [
                {"id": d.device_id, "kind": d.kind, "gateway": gateway, "space": d.space}
                for d in self.devices
            ],
        }

    def stop(self) -> None:
        """Stop the run loop; devices disconnect cleanly (status offline)."""
        self._stop.set()

    def run(self, *, host: str, port: int, speed: float = 1.0) -> None:
        """Connect every device and publish until :meth:`stop`."""
        for d in self.devices:
            d.client = self._connect(d, host, port)
        try:
            while not self._stop.is_set():
                now = time.time()
                for d in self.devices:
                    assert d.client is not None
                    d.client.loop(timeout=0.0)
                    self._step(d, now, speed)
                self._stop.wait(0.05)
        finally:
            for d in self.devices:
                if d.client is not None:
                    d.client.publish(
                        self.topics.status(d.device_id),
                        self._status(d, "offline"),
                        qos=1,
                        retain=True,
                    )
                    d.client.loop(timeout=0.05)
                    d.client.disconnect()
                    d.client.loop(timeout=0.05)
                    d.client._reset_sockets()  # paho leaves its wake-up socket pair to the GC

    def _connect(self, d: SimDevice, host: str, port: int) -> paho.Client:
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=d.device_id, protocol=paho.MQTTv311)
        c.will_set(self.topics.status(d.device_id), self._status(d, "offline"), qos=1, retain=True)
        c.max_inflight_messages_set(100)
        c.connect(host, port, keepalive=60)
        c.publish(self.topics.status(d.device_id), self._status(d, "online"), qos=1, retain=True)
        return c

    def _status(self, d: SimDevice, state: str) -> bytes:
        return json.dumps(
            {"v": 1, "state": state, "boot": d.boot, "fw": FW, "kind": d.kind}
        ).encode()

    def _due(self, d: SimDevice, what: str, now: float, every: float, speed: float) -> bool:
        due = d.next_due.get(what)
        if due is None:
            d.next_due[what] = now + random.uniform(0, every / speed)  # noqa: S311
            return False
        if now < due:
            return False
        d.next_due[what] = now + every / speed
        return True

    def _publish(self, d: SimDevice, stream: str, fields: dict[str, Any]) -> None:
        assert d.client is not None
        payload = json.dumps({**d.envelope(), **fields}).encode()
        d.client.publish(self.topics.uplink(d.device_id, stream), payload, qos=1)
        self.published += 1

    def _step(self, d: SimDevice, now: float, speed: float) -> None:
        chance = occupancy_chance(datetime.fromtimestamp(now, WITA))
        rnd = random.random  # noqa: S311
        if d.kind == "desk":
            if self._due(d, "presence", now, 30, speed):
                flip = rnd() < 0.1
                if flip or (d.occupied != (rnd() < chance) and rnd() < 0.2):
                    d.occupied = not d.occupied
                    self._publish(
                        d,
                        "presence",
                        {
                            "occupied": d.occupied,
                            "source": "both",
                            "distance_cm": round(60 + rnd() * 60, 1),
                        },
                    )
            if self._due(d, "keepalive", now, 300, speed):
                self._publish(d, "presence", {"occupied": d.occupied, "source": "both"})
        elif d.kind == "room":
            if self._due(d, "env", now, 60, speed):
                d.people = max(0, round(10 * chance + rnd() * 3 - 1.5))
                target = 420 + 90 * d.people
                d.co2 += (target - d.co2) * 0.3 + rnd() * 10 - 5
                self._publish(
                    d,
                    "env",
                    {
                        "co2_ppm": round(max(400.0, d.co2), 1),
                        "temp_c": round(24 + d.people * 0.15 + rnd() * 0.5, 2),
                        "rh_pct": round(58 + rnd() * 6, 1),
                        "lux": round(300 + 200 * chance + rnd() * 20, 1),
                    },
                )
                self._publish(d, "people", {"count": d.people})
        elif self._due(d, "energy", now, 30, speed):
            power = 800 + 6000 * chance + rnd() * 200
            d.energy_wh += power * 30 / 3600
            self._publish(
                d,
                "energy",
                {
                    "power_w": round(power, 1),
                    "energy_wh": round(d.energy_wh, 1),
                    "voltage_v": round(228 + rnd() * 4, 1),
                    "circuit": "total",
                },
            )
        if self._due(d, "heartbeat", now, 120, speed):
            self._publish(
                d,
                "heartbeat",
                {
                    "uptime_s": int(now) % 86_400,
                    "rssi_dbm": -50 - int(rnd() * 30),
                    "heap_free": 60_000 + int(rnd() * 4000),
                    "fw": FW,
                    "buffered": 0,
                    "dropped": 0,
                },
            )


def _space(building: str, floor: int, zone: str, space: str, kind: str) -> dict[str, str]:
    return {
        "building": building,
        "floor": f"f{floor}",
        "zone": zone,
        "space": space,
        "space_kind": kind,
    }
