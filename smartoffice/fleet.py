"""``smartoffice sim``: the firmware's own application, many nodes in one CPython process.

Each node is ``firmware/lib/app.py``'s Node with simulated hardware: PIR levels and LD2410
frames from a desk occupant's day, an SCD4x whose CO2 rises with the people in its room,
PZEM meters whose power follows occupancy. The office day (arrivals from 07:30, a lunch
dip, meetings, some no-shows) runs on a simulated clock that can start at any hour and run
faster than real time; message timestamps stay real.
"""

from __future__ import annotations

import asyncio
import gc
import random
import sys
import tempfile
import threading
import time
import types
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from html import escape
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from contracts.credentials import mosquitto_hash, new_password

FIRMWARE_LIB = Path(__file__).resolve().parents[1] / "firmware" / "lib"
WITA = ZoneInfo("Asia/Makassar")
DESKS_PER_FLOOR = 50
FLOOR_W, FLOOR_H = 64, 32
"""A simulated floor's extent in metres: two wings of 13 m around a 4 m core and corridor."""
RIVERS: Final = (
    "Mahakam",
    "Kapuas",
    "Barito",
    "Kahayan",
    "Katingan",
    "Kayan",
    "Sesayap",
    "Berau",
    "Mentaya",
    "Seruyan",
)
"""The simulated building's meeting rooms are named after Kalimantan's rivers."""


def _firmware() -> types.ModuleType:
    """Import the firmware's app module (pure Python; runs on CPython's asyncio)."""
    if not FIRMWARE_LIB.is_dir():
        raise RuntimeError(f"firmware not found at {FIRMWARE_LIB}: run from a source checkout")
    if str(FIRMWARE_LIB) not in sys.path:
        sys.path.insert(0, str(FIRMWARE_LIB))
    import app  # type: ignore[import-not-found]

    app.gc = SimHeap()  # the firmware's own view of its heap, as an ESP32's
    return app  # type: ignore[no-any-return]


class SimHeap:
    """An ESP32's MicroPython heap as the firmware sees it (``gc`` of its own module).

    CPython has no ``gc.mem_free``; a simulated node reports what an ESP32-WROOM running
    this firmware has free: about 110 KB, moving with what it holds between collections.
    """

    def __init__(self, seed: int = 3) -> None:
        self._rnd = random.Random(seed)

    def mem_free(self) -> int:
        return 104_000 + int(self._rnd.random() * 12_000)

    def collect(self) -> None:
        gc.collect()


class SimClock:
    """Simulated WITA wall time for the occupancy model."""

    def __init__(self, start: datetime | None, speed: float) -> None:
        self._real0 = datetime.now(WITA)
        self._sim0 = start or self._real0
        self.speed = speed

    def now(self) -> datetime:
        return self._sim0 + (datetime.now(WITA) - self._real0) * self.speed


@dataclass
class Occupant:
    """One desk's person for a day: when they come, lunch, meetings; or a no-show."""

    arrive: float
    leave: float
    lunch: float
    meetings: list[float]
    no_show: bool

    @classmethod
    def draw(cls, rnd: random.Random) -> Occupant:
        return cls(
            arrive=rnd.gauss(8.0, 0.4),
            leave=rnd.gauss(16.5, 0.5),
            lunch=rnd.uniform(11.8, 12.6),
            meetings=[rnd.uniform(9, 15.5) for _ in range(rnd.randint(0, 3))],
            no_show=rnd.random() < 0.12,
        )

    def at_desk(self, t: datetime) -> bool:
        if self.no_show or t.weekday() >= 5:
            return False
        h = t.hour + t.minute / 60
        if not self.arrive <= h < self.leave:
            return False
        if self.lunch <= h < self.lunch + 0.75:
            return False
        return not any(m <= h < m + 1 for m in self.meetings)


@dataclass
class Hardware:
    """Per-node stand-ins for ``machine`` and ``network``, driven by the model."""

    pins: dict[int, int] = field(default_factory=dict)
    uart_rx: dict[int, bytearray] = field(default_factory=dict)
    responders: dict[int, Any] = field(default_factory=dict)
    i2c: dict[int, Any] = field(default_factory=dict)

    def machine(self) -> types.SimpleNamespace:
        hw = self

        class Pin:
            IN, OUT, PULL_UP = 0, 1, 2

            def __init__(self, pin_id: int, mode: int | None = None, pull: int | None = None):
                self.id = pin_id

            def value(self, level: int | None = None) -> int | None:
                if level is None:
                    return hw.pins.get(self.id, 0)
                return None

        class UART:
            def __init__(self, uid: int, **_: Any) -> None:
                self.id = uid
                hw.uart_rx.setdefault(uid, bytearray())

            def read(self, n: int | None = None) -> bytes | None:
                buf = hw.uart_rx[self.id]
                if not buf:
                    return None
                n = len(buf) if n is None else min(n, len(buf))
                out = bytes(buf[:n])
                del buf[:n]
                return out

            def write(self, data: bytes) -> int:
                if self.id in hw.responders:
                    hw.uart_rx[self.id].extend(hw.responders[self.id](bytes(data)))
                return len(data)

        class I2C:
            def __init__(self, bus: int, **_: Any) -> None:
                pass

            def writeto(self, addr: int, buf: bytes) -> None:
                hw.i2c[addr].write(bytes(buf))

            def readfrom(self, addr: int, n: int) -> bytes:
                return bytes(hw.i2c[addr].read(n))

        class WDT:
            def __init__(self, **_: Any) -> None:
                pass

            def feed(self) -> None:
                pass

        def reset() -> None:
            raise asyncio.CancelledError

        return types.SimpleNamespace(Pin=Pin, UART=UART, I2C=I2C, WDT=WDT, ADC=None, reset=reset)

    @staticmethod
    def network() -> types.SimpleNamespace:
        class WLAN:
            def __init__(self, _iface: int) -> None:
                pass

            def active(self, _on: bool | None = None) -> bool:
                return True

            def connect(self, *_: str) -> None:
                pass

            def isconnected(self) -> bool:
                return True

            def status(self, _what: str | None = None) -> int:
                return -55

        return types.SimpleNamespace(WLAN=WLAN, STA_IF=0)


# A zone's meters: Modbus address -> circuit; and the room sensors' model.
CIRCUITS = {1: "lighting", 2: "hvac", 3: "plugs"}


def zone_power(address: int, present: int, t: datetime) -> float:
    """Watts on a zone's circuit with ``present`` people at their desks at ``t``."""
    working = 7 <= t.hour < 18 and t.weekday() < 5
    return {
        1: 300.0 + (900.0 if working else 0.0),
        2: 1500.0 + 5000.0 * min(1.0, present / 10),
        3: 150.0 + 60.0 * present,
    }[address]


def room_climate(
    present_in_zone: int, index: int = 0, room: str = ""
) -> tuple[float, float, float]:
    """(CO2 ppm it tends to, °C, % RH) of one of a zone's meeting rooms.

    The first is the busiest: a third of the zone's people meet there, the next a quarter.
    No two rooms are alike: each has its own size and air (``room``'s code picks how many ppm
    a person adds, its outdoor baseline, and its warmth and humidity).
    """
    shape = zlib.crc32(room.encode())
    per_person = 95 + shape % 60  # a small room fills faster than a large one
    base = 415 + (shape >> 8) % 35
    people = present_in_zone // (3 + index)
    warmth = ((shape >> 16) % 7 - 3) / 10
    return (
        float(base + per_person * people),
        round(23.5 + warmth + 0.2 * people, 1),
        float(58 - index - (shape >> 20) % 5),
    )


class SimRoom:
    """An SCD4x in a room whose CO2 follows the people in it."""

    def __init__(
        self, scd4x: Any, desks: list[Occupant], clock: SimClock, index: int = 0, room: str = ""
    ) -> None:
        self.scd4x, self.desks, self.clock, self.index = scd4x, desks, clock, index
        self.room = room
        self.co2 = 430.0
        self._cmd = 0

    def present(self) -> int:
        t = self.clock.now()
        return sum(1 for o in self.desks if o.at_desk(t))

    def write(self, buf: bytes) -> None:
        self._cmd = buf[0] << 8 | buf[1]

    def read(self, n: int) -> bytes:
        if self._cmd == self.scd4x.DATA_READY:
            return bytes(self.scd4x.encode_words([0x8006]))
        target, temp, humidity = room_climate(self.present(), self.index, self.room)
        self.co2 += (target - self.co2) * 0.05
        t = int((temp + 45) * 65536 / 175)
        rh = int(humidity * 65536 / 100)
        return bytes(self.scd4x.encode_words([int(self.co2), t, rh]))


class SimMeter:
    """A PZEM's cumulative counter: the integral of its power over real time.

    ``true_wh`` keeps counting through a ``reset()`` (the meter's own counter starts again
    at zero), so a test knows the energy that really flowed.
    """

    def __init__(self, power: Callable[[], float], counter_wh: float) -> None:
        self.power = power
        self.counter_wh = counter_wh
        self.true_wh = 0.0
        self._last: tuple[float, float] | None = None
        self._lock = threading.Lock()

    def read(self) -> tuple[float, int]:
        """Power now and the whole-Wh counter, as the meter answers."""
        with self._lock:
            now, watts = time.time(), self.power()
            if self._last is not None:
                then, before = self._last
                wh = (before + watts) / 2 * (now - then) / 3600
                self.counter_wh += wh
                self.true_wh += wh
            self._last = (now, watts)
            return watts, int(self.counter_wh)

    def reset(self) -> None:
        """The meter's energy counter is reset (a reset command, or a new meter)."""
        with self._lock:
            self.counter_wh = 0.0


class Fleet:
    """Nodes of one building, each a firmware Node with simulated hardware."""

    def __init__(
        self,
        *,
        building: str,
        desks: int,
        host: str,
        port: int,
        base: str = "ikn",
        clock: SimClock | None = None,
        seed: int = 1,
        home: Path | None = None,
        passwords: bool = False,
        energy_interval_s: int = 30,
    ):
        self.app = _firmware()
        import ld2410  # type: ignore[import-not-found]
        import pzem  # type: ignore[import-not-found]
        import scd4x  # type: ignore[import-not-found]

        self.ld2410, self.pzem, self.scd4x = ld2410, pzem, scd4x
        self.clock = clock or SimClock(None, 1.0)
        self.rnd = random.Random(seed)
        self.home = home or Path(tempfile.mkdtemp(prefix="ikn-fleet-"))
        self.base, self.host, self.port = base, host, port
        # Per-device broker passwords, as the installer flashes them, when the broker checks.
        self.passwords: dict[str, str] | None = {} if passwords else None
        self.nodes: list[Any] = []
        self.devices: list[dict[str, Any]] = []
        self.meters: dict[tuple[str, int], SimMeter] = {}
        self.energy_interval_s = energy_interval_s
        self._drivers: list[Any] = []
        self.occupants: dict[str, Occupant] = {}  # desk code -> the person who sits there
        self._build(building, desks)

    def _node(
        self, device_id: str, kind: str, space: dict[str, str], hw: Hardware, **cfg: Any
    ) -> None:
        home = self.home / device_id
        home.mkdir(parents=True, exist_ok=True)
        if self.passwords is not None:
            cfg["mqtt_password"] = self.passwords.setdefault(device_id, new_password())
        config = {
            "device_id": device_id,
            "kind": kind,
            "mqtt_host": self.host,
            "mqtt_port": self.port,
            "base_topic": self.base,
            "wdt_ms": 0,
            "heartbeat_s": 120,
            **cfg,
        }
        node = self.app.Node(
            config, hw.machine(), hw.network(), None, rand=self.rnd.random, home=f"{home}/"
        )
        self.nodes.append(node)
        self.devices.append({"id": device_id, "kind": kind, "space": space})

    def _build(self, building: str, desks: int) -> None:
        floors = max(1, -(-desks // DESKS_PER_FLOOR))
        for f in range(1, floors + 1):
            on_floor = min(DESKS_PER_FLOOR, desks - (f - 1) * DESKS_PER_FLOOR)
            zone_people: dict[str, list[Occupant]] = {}
            for d in range(on_floor):
                zone = f"f{f}-{'north' if d < on_floor / 2 else 'south'}"
                occupant = Occupant.draw(self.rnd)
                zone_people.setdefault(zone, []).append(occupant)
                self.occupants[f"d-{f}-{d + 1:03d}"] = occupant
                hw = Hardware()
                self._drivers.append((occupant, hw))
                self._node(
                    f"desk-f{f}-{d + 1:03d}",
                    "desk",
                    _space(building, f, zone, f"d-{f}-{d + 1:03d}", "desk"),
                    hw,
                    pir_pin=4,
                    radar_uart=[1, 17, 16],
                    hold_s=120,
                )
                if d % 10 == 0:
                    rhw = Hardware()
                    index = sum(
                        1
                        for d in self.devices
                        if d["kind"] == "room" and d["space"]["zone"] == zone
                    )
                    code = f"r-{f}-{d // 10 + 1:02d}"
                    rhw.i2c[0x62] = SimRoom(
                        self.scd4x, zone_people[zone], self.clock, index, room=code
                    )
                    self._node(
                        f"room-f{f}-{d // 10 + 1:02d}",
                        "room",
                        _space(building, f, zone, code, "room"),
                        rhw,
                        i2c=[0, 22, 21],
                    )
            for zone, people in zone_people.items():
                ehw = Hardware()
                ehw.responders[2] = self._meters(f"em-{building}-{zone}", people)
                self._node(
                    f"em-{building}-{zone}",
                    "energy",
                    _space(building, f, zone, zone, "zone"),
                    ehw,
                    meter_uart=[2, 17, 16],
                    energy_interval_s=self.energy_interval_s,
                    meters=[{"address": a, "circuit": c} for a, c in CIRCUITS.items()],
                )

    def _meters(self, device_id: str, people: list[Occupant]) -> Any:
        """The Modbus answers of a zone's three PZEM meters, whose power follows its people."""

        def power(address: int) -> float:
            t = self.clock.now()
            return zone_power(address, sum(1 for o in people if o.at_desk(t)), t)

        meters = {
            a: SimMeter(partial(power, a), c) for a, c in ((1, 2.0e5), (2, 9.0e5), (3, 3.0e5))
        }
        for address, meter in meters.items():
            self.meters[(device_id, address)] = meter

        def respond(request: bytes) -> bytes:
            address = request[0]
            watts, counter = meters[address].read()
            return bytes(
                self.pzem.encode_reply(address, 229.0, watts / 229.0, watts, counter, 50.0, 0.95)
            )

        return respond

    def layout(
        self,
        building: str,
        name: str = "Gedung Kementerian (simulasi)",
        agencies: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A layout document of the simulated building, named as people name its places.

        Each floor has a north and a south wing (its HVAC zones) around a core of lifts and
        stairs, desks in rows (``Meja U-01`` in the north wing), and meeting rooms at the
        east end named after Kalimantan's rivers. ``agencies`` names a floor's agency
        (floor code -> agency code); without, every floor is the building's.
        """
        floors: dict[str, dict[str, Any]] = {}
        rooms = 0
        for d in self.devices:
            space = d["space"]
            level = int(space["floor"][1:])
            floor = floors.setdefault(
                space["floor"],
                {
                    "id": space["floor"],
                    "name": f"Lantai {level}",
                    "level": level,
                    "width": FLOOR_W,
                    "height": FLOOR_H,
                    "agency": (agencies or {}).get(space["floor"]),
                    "zones": [],
                    "desks": [],
                    "rooms": [],
                },
            )
            south = space["zone"].endswith("south")
            wing, letter = ("Selatan", "S") if south else ("Utara", "U")
            if space["zone"] not in {z["id"] for z in floor["zones"]}:
                floor["zones"].append(
                    {"id": space["zone"], "name": f"Lantai {level} Sayap {wing}", "kind": "hvac"}
                )
            if space["space_kind"] == "desk":
                n = sum(1 for x in floor["desks"] if x["zone"] == space["zone"])
                floor["desks"].append(
                    {
                        "id": space["space"],
                        "name": f"Meja {letter}-{n + 1:02d}",
                        "zone": space["zone"],
                        "x": 3 + 2 * (n % 25),
                        "y": (22 if south else 5) + 3 * (n // 25),
                        "monitor": n % 2 == 0,
                        "standing": n % 7 == 0,
                    }
                )
            elif space["space_kind"] == "room":
                n = sum(1 for x in floor["rooms"] if x["zone"] == space["zone"])
                floor["rooms"].append(
                    {
                        "id": space["space"],
                        "name": f"Ruang Rapat {RIVERS[rooms % len(RIVERS)]}",
                        "zone": space["zone"],
                        "capacity": (8, 6, 12, 10)[rooms % 4],
                        "x": 54,
                        "y": (19 if south else 2) + 4 * n,
                        "width": 8,
                        "height": 3.5,
                    }
                )
                rooms += 1
        return {"building": {"id": building, "name": name}, "floors": list(floors.values())}

    def registry(self, gateway: str) -> dict[str, Any]:
        """A registry document for ``smartoffice registry import``."""
        devices = []
        for d in self.devices:
            entry = {**d, "gateway": gateway}
            if self.passwords is not None:
                entry["mqtt_hash"] = mosquitto_hash(self.passwords[d["id"]])
            devices.append(entry)
        return {"gateways": [gateway], "devices": devices}

    async def _drive(self) -> None:
        """Feed each desk's PIR and radar from its occupant, ten times a second."""
        frame = self.ld2410.frame
        while True:
            t = self.clock.now()
            for occupant, hw in self._drivers:
                here = occupant.at_desk(t)
                hw.pins[4] = 1 if here and self.rnd.random() < 0.3 else 0
                if here:
                    hw.uart_rx.setdefault(1, bytearray()).extend(
                        frame(self.ld2410.STILL, 0, 0, 80, 40, 80)
                    )
                else:
                    hw.uart_rx.setdefault(1, bytearray()).extend(frame(self.ld2410.NONE))
            await asyncio.sleep(0.1)

    async def run(self, stop: asyncio.Event | None = None, stagger_s: float = 0.005) -> None:
        """Run every node (and the occupants) until ``stop`` is set."""
        tasks = [asyncio.create_task(self._drive())]
        for node in self.nodes:
            tasks.append(asyncio.create_task(node.run()))
            await asyncio.sleep(stagger_s)  # do not connect them all in the same instant
        try:
            await (stop.wait() if stop else asyncio.Future())
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for node in self.nodes:
                if node.client is not None:
                    await node.client.disconnect()


def _space(building: str, floor: int, zone: str, space: str, kind: str) -> dict[str, str]:
    return {
        "building": building,
        "floor": f"f{floor}",
        "zone": zone,
        "space": space,
        "space_kind": kind,
    }


def parse_start(text: str | None) -> datetime | None:
    """``08:00`` (today, WITA) or an ISO time; None keeps the real time."""
    if not text:
        return None
    if len(text) <= 5:
        h, m = (int(x) for x in text.split(":"))
        today = datetime.now(WITA).replace(hour=h, minute=m, second=0, microsecond=0)
        return today if today.weekday() < 5 else today + timedelta(days=7 - today.weekday())
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=WITA)


class FleetThread:
    """Run a fleet on its own event loop thread (for the demo)."""

    def __init__(self, fleet: Fleet, stagger_s: float = 0.005) -> None:
        self.fleet = fleet
        self.stagger_s = stagger_s
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fleet", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            await self.fleet.run(self._stop, self.stagger_s)

        self._loop.run_until_complete(main())
        self._loop.close()

    def start(self) -> None:
        """Start the nodes."""
        self._thread.start()

    def stop(self) -> None:
        """Stop every node (each disconnects cleanly) and wait."""
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def floor_plan(floor: Mapping[str, Any]) -> bytes:
    """A floor's plan as SVG (metres): its outline, wings, core, and the rooms' walls.

    Drawn from the floor's layout entry, so the plan and the desks and rooms on it agree.
    """
    w, h = floor["width"], floor["height"]
    mid = h / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
        f'width="{w * 12}" height="{h * 12}">',
        f'<rect x="0.5" y="0.5" width="{w - 1}" height="{h - 1}" fill="#fafaf7" '
        'stroke="#333" stroke-width="0.4"/>',
        f'<rect x="1" y="1" width="{w - 2}" height="{mid - 3}" fill="#eef5ee"/>',
        f'<rect x="1" y="{mid + 2}" width="{w - 2}" height="{mid - 3}" fill="#eef0f7"/>',
        f'<rect x="{w / 2 - 6}" y="{mid - 2}" width="12" height="4" fill="#ddd" '
        'stroke="#999" stroke-width="0.2"/>',
        f'<text x="{w / 2}" y="{mid + 0.5}" font-size="1.4" text-anchor="middle" '
        'font-family="sans-serif">Lift &amp; Tangga</text>',
    ]
    for zone in floor["zones"]:
        y = 2.8 if zone["id"].endswith("north") else h - 1.4
        parts.append(
            f'<text x="2" y="{y}" font-size="1.4" font-family="sans-serif">'
            f"{escape(zone['name'])}</text>"
        )
    for room in floor["rooms"]:
        parts.append(
            f'<rect x="{room["x"]}" y="{room["y"]}" width="{room.get("width", 4)}" '
            f'height="{room.get("height", 3)}" fill="#fff" stroke="#666" stroke-width="0.25"/>'
        )
    parts.append("</svg>")
    return "\n".join(parts).encode()
