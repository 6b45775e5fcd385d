"""The loop closed through the real chain: presence over Mosquitto -> gateway -> server ->
booking state -> the desk's LED state back on its retained ``down/state`` topic; for a
check-in, a no-show, an early release and a walk-in, with the booker's mail through a
real SMTP server."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from harness.layouts import one_floor
from harness.observer import Observer
from harness.platform import Platform, status_payload
from harness.services import Service, wait_for
from harness.smtp import Inbox

B = "kantor-f"
WITA = ZoneInfo("Asia/Makassar")
ALWAYS_OPEN = {
    "open_minute": 0,
    "close_minute": 1440,
    "weekdays": [0, 1, 2, 3, 4, 5, 6],
    "public_holidays": False,
    "min_minutes": 15,
}


@pytest.fixture
def platform(
    tmp_path: Path, mosquitto: Service, unique_name: str, smtp: tuple[Inbox, int]
) -> Iterator[Platform]:
    p = Platform(
        tmp_path,
        {
            "SMARTOFFICE_BASE_TOPIC": unique_name,
            "SMARTOFFICE_BOOKING_SWEEP_S": "1",
            "SMARTOFFICE_SMTP_HOST": "127.0.0.1",
            "SMARTOFFICE_SMTP_PORT": str(smtp[1]),
            "SMARTOFFICE_SMTP_STARTTLS": "false",
            # One booker's desk is followed through the report: the privacy minimum would
            # withhold it (tests/server/privacy/test_subject.py and
            # tests/server/auth/test_service.py test that).
            "SMARTOFFICE_PRIVACY_MIN_GROUP": "1",
        },
        gateway_id=f"gw-{unique_name}",
        base_topic=unique_name,
    )
    p.register([], building=B)
    p.start_server()
    assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, "l1", ["m1"])).is_success
    assert p.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=ALWAYS_OPEN).is_success
    p.start_gateway(mosquitto.port)
    yield p
    p.stop()


class DeskNode:
    """A desk node at m1, as the broker sees it: registered, assigned, online."""

    def __init__(self, platform: Platform, mosquitto: Service, base_topic: str) -> None:
        made = platform.api("POST", "/api/v1/devices", "installer", json={"kind": "desk"})
        dev = made.json()["device"]["id"]
        where = {"building": B, "desk": "m1"}
        assert platform.api(
            "PUT", f"/api/v1/devices/{dev}/assignment", "installer", json=where
        ).is_success
        self.base = f"{base_topic}/v1/dev/{dev}"
        self.obs = Observer(mosquitto.port, self.base)
        self.obs.publish(f"{self.base}/status", json.loads(status_payload("desk")), retain=True)
        self.seq = 0

    def led(self) -> str | None:
        """The last desired state the server sent the node."""
        topic = f"{self.base}/down/state"
        states = [json.loads(p)["state"] for t, p in self.obs.messages if t == topic]
        return states[-1] if states else None

    def wait_led(self, state: str) -> None:
        """Until the LED shows ``state``."""
        wait_for(lambda: self.led() == state, f"the LED never turned {state} (is {self.led()})")

    def presence(self, occupied: bool, at: datetime) -> None:
        """The node reports someone (or nobody) at the desk at ``at``."""
        self.obs.publish(
            f"{self.base}/up/presence",
            {
                "v": 1,
                "boot": 1,
                "seq": self.seq,
                "occupied": occupied,
                "source": "both",
                "ts": int(at.timestamp() * 1000),
            },
        )
        self.seq += 1

    def close(self) -> None:
        """Disconnect."""
        self.obs.close()


@pytest.fixture
def node(platform: Platform, mosquitto: Service, unique_name: str) -> Iterator[DeskNode]:
    n = DeskNode(platform, mosquitto, unique_name)
    yield n
    n.close()


def book(platform: Platform, start: datetime, end: datetime) -> int:
    """The employee books m1; the booking's id."""
    slot = {"building": B, "desk": "m1", "start": start.isoformat(), "end": end.isoformat()}
    made = platform.api("POST", "/api/v1/bookings", "employee", json=slot)
    assert made.status_code == 201, made.text
    return int(made.json()["created"][0]["id"])


def booking(platform: Platform, booking_id: int) -> dict[str, Any]:
    """The booking as its owner sees it."""
    found: dict[str, Any] = platform.api("GET", f"/api/v1/bookings/{booking_id}", "employee").json()
    return found


def report_row(platform: Platform, now: datetime) -> dict[str, str]:
    """The utilization report's row for m1 around ``now``, as CSV."""
    period = {
        "building": B,
        "start": (now - timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=1)).isoformat(),
        "by": "desk",
    }
    assert (
        platform.api("GET", "/api/v1/reports/utilization", "employee", params=period).status_code
        == 403
    )
    report = platform.api(
        "GET", "/api/v1/reports/utilization", "facility_manager", params={**period, "format": "csv"}
    )
    assert report.headers["content-type"].startswith("text/csv")
    (row,) = csv.DictReader(io.StringIO(report.text))
    return row


def test_presence_checks_the_booking_in_and_the_led_follows(
    platform: Platform, node: DeskNode
) -> None:
    now = datetime.now(WITA).replace(microsecond=0)
    made = book(platform, now - timedelta(minutes=1), now + timedelta(hours=1))
    node.wait_led("awaiting_checkin")
    node.presence(True, datetime.now(WITA))
    wait_for(
        lambda: booking(platform, made)["state"] == "checked_in",
        "presence did not check the booking in",
    )
    assert booking(platform, made)["checked_in_by"] == "sensor"
    node.wait_led("occupied")
    live = platform.api(
        "GET", "/api/v1/occupancy/live", "employee", params={"building": B, "floor": "l1"}
    ).json()
    assert live[0]["state"] == "occupied" and live[0]["occupied"] is True
    checked_out = platform.api("POST", f"/api/v1/bookings/{made}/check-out", "employee")
    assert checked_out.json()["outcome"] == "attended"
    node.presence(False, datetime.now(WITA) + timedelta(seconds=1))
    node.wait_led("free")
    row = report_row(platform, now)
    assert (row["group"], row["bookings"], row["no_shows"], row["peak_occupied"]) == (
        "m1",
        "1",
        "0",
        "1",
    )


def test_a_no_show_is_released_the_booker_told_and_the_desk_shown_free(
    platform: Platform, node: DeskNode, smtp: tuple[Inbox, int]
) -> None:
    # Booked from 20 minutes ago: the 15-minute grace period is over at the next sweep.
    now = datetime.now(WITA).replace(microsecond=0)
    made = book(platform, now - timedelta(minutes=20), now + timedelta(minutes=40))
    wait_for(lambda: booking(platform, made)["state"] == "released", "the no-show stayed booked")
    released = booking(platform, made)
    assert released["outcome"] == "no_show"
    assert released["release_reason"] == "nobody checked in within 15 min"
    node.wait_led("free")
    inbox, _ = smtp
    wait_for(lambda: len(inbox.messages) == 2, "the confirmation and release mail never came")
    confirmed, gone = inbox.messages
    assert confirmed["To"] == gone["To"] == "employee@kantor.example.go.id"
    assert gone["Subject"] == "Pemesanan meja m1 dilepas / Booking released"
    # The booker arrives late: the desk shows occupied (a walk-in), the booking stays released.
    node.presence(True, datetime.now(WITA))
    node.wait_led("occupied")
    assert booking(platform, made)["state"] == "released"
    assert report_row(platform, now)["no_shows"] == "1"


def test_a_desk_left_vacant_is_released_early_and_keeps_its_record(
    platform: Platform, node: DeskNode
) -> None:
    policy = {**ALWAYS_OPEN, "release_after_vacant_minutes": 5}
    assert platform.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=policy).is_success
    now = datetime.now(WITA).replace(microsecond=0)
    made = book(platform, now - timedelta(minutes=12), now + timedelta(minutes=48))
    # The node was offline and delivers what it saw: the booker sat down 10 minutes ago and
    # left 6 minutes ago, longer than the 5 minutes the policy allows a desk to stand empty.
    node.presence(True, now - timedelta(minutes=10))
    wait_for(lambda: booking(platform, made)["state"] != "booked", "no sensor check-in")
    node.presence(False, now - timedelta(minutes=6))
    wait_for(lambda: booking(platform, made)["state"] == "released", "not released early")
    released = booking(platform, made)
    assert (released["outcome"], released["checked_in_by"]) == ("released_early", "sensor")
    assert released["release_reason"] == "desk vacant for 5 min"
    assert released["start"] == (now - timedelta(minutes=12)).isoformat()  # the record stays
    node.wait_led("free")
    row = report_row(platform, now)
    assert (row["bookings"], row["released_early"], row["no_shows"]) == ("1", "1", "0")


def test_a_walk_in_shows_occupied_and_becomes_a_booking_by_qr(
    platform: Platform, node: DeskNode
) -> None:
    now = datetime.now(WITA).replace(microsecond=0)
    node.wait_led("free")
    node.presence(True, datetime.now(WITA))  # someone sits at a desk nobody booked
    node.wait_led("occupied")
    live = platform.api(
        "GET", "/api/v1/occupancy/live", "employee", params={"building": B, "floor": "l1"}
    ).json()
    assert (live[0]["state"], live[0]["occupied"]) == ("occupied", True)
    seen = platform.api(
        "GET",
        "/api/v1/availability",
        "admin",
        params={
            "building": B,
            "floor": "l1",
            "start": now.isoformat(),
            "end": (now + timedelta(minutes=30)).isoformat(),
        },
    ).json()
    assert seen[0]["state"] == "free"  # nobody booked it: still bookable ...
    typed = platform.api(
        "POST", f"/api/v1/buildings/{B}/desks/m1/check-in", "employee", params={"key": "ditebak"}
    )
    assert typed.status_code == 403  # the page's address without the label's secret
    label = platform.api("GET", f"/api/v1/buildings/{B}/desks/m1/label", "installer").json()
    key = label["url"].split("?k=")[1]
    walk_in = platform.api(
        "POST", f"/api/v1/buildings/{B}/desks/m1/check-in", "employee", params={"key": key}
    )
    assert walk_in.status_code == 200, walk_in.text
    made = walk_in.json()
    assert (made["state"], made["outcome"], made["checked_in_by"], made["presence"]) == (
        "checked_in",
        "walk_in",
        "qr",
        "sensor",
    )  # the node sees someone there
    seen = platform.api(
        "GET",
        "/api/v1/availability",
        "admin",
        params={
            "building": B,
            "floor": "l1",
            "start": now.isoformat(),
            "end": (now + timedelta(minutes=30)).isoformat(),
        },
    ).json()
    assert seen[0]["state"] == "booked"  # ... until the QR scan made it a booking
    out = platform.api("POST", f"/api/v1/bookings/{made['id']}/check-out", "employee").json()
    assert (out["state"], out["outcome"]) == ("completed", "walk_in")
    node.presence(False, datetime.now(WITA) + timedelta(seconds=1))
    node.wait_led("free")
    assert report_row(platform, now)["walk_ins"] == "1"


def test_floor_maps_get_desk_changes_as_server_sent_events(platform: Platform) -> None:
    assert platform.server is not None
    events: list[dict[str, object]] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"{platform.server.url}/api/v1/events",
            params={"building": B, "floor": "l1"},  # type: ignore[union-attr]
            headers=platform.headers("employee"),
            timeout=30,
        ) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            for line in resp.iter_lines():
                opened.set()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    return

    reader = threading.Thread(target=listen)
    reader.start()
    assert opened.wait(10)
    now = datetime.now(WITA).replace(microsecond=0)
    made = platform.api(
        "POST",
        "/api/v1/bookings",
        "employee",
        json={
            "building": B,
            "desk": "m1",
            "start": (now + timedelta(minutes=5)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        },
    )
    assert made.status_code == 201
    reader.join(20)
    assert events and events[0]["desk"] == "m1" and events[0]["state"] == "awaiting_checkin"
    assert "user" not in events[0]  # maps see desks, not people


FIRMWARE_AT_THE_DESK = """
import asyncio, json, sys, hostsim, machine, network, ntptime, app, config, ld2410
node = app.Node(config.load(), machine, network, ntptime)
async def main():
    asyncio.create_task(node.run())
    await asyncio.sleep(3)            # online; the retained desired state arrives
    first = [hostsim.outputs.get(p) for p in (25, 26, 27)]
    hostsim.pins[4] = 1               # the booker sits down
    for _ in range(int(sys.argv[1]) * 10):
        hostsim.uart_rx[1].extend(ld2410.frame(ld2410.STILL, 0, 0, 90, 40, 90))
        await asyncio.sleep(0.1)
    print(json.dumps({"before": first, "after": [hostsim.outputs.get(p) for p in (25, 26, 27)]}))
asyncio.run(main())
"""


def test_the_desk_node_itself_checks_its_booker_in_and_turns_red(
    platform: Platform, mosquitto: Service, unique_name: str, tmp_path: Path
) -> None:
    """The firmware under MicroPython, as the issue's scenario asks."""
    from tests.firmware.test_app import desk_config, run_node

    cfg = desk_config(unique_name, mosquitto.port)
    made = platform.api(
        "POST", "/api/v1/devices", "installer", json={"kind": "desk", "id": cfg["device_id"]}
    )
    assert made.status_code == 201
    where = {"building": B, "desk": "m1"}
    path = f"/api/v1/devices/{cfg['device_id']}/assignment"
    assert platform.api("PUT", path, "installer", json=where).is_success
    now = datetime.now(WITA).replace(microsecond=0)
    booking = platform.api(
        "POST",
        "/api/v1/bookings",
        "employee",
        json={
            "building": B,
            "desk": "m1",
            "start": (now - timedelta(minutes=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        },
    ).json()["created"][0]["id"]
    (tmp_path / "node").mkdir()
    node = run_node(tmp_path / "node", FIRMWARE_AT_THE_DESK, {**cfg, "wdt_ms": 0}, "8")
    try:
        out, err = node.communicate(timeout=90)
    finally:
        node.kill()
    assert node.returncode == 0, err
    leds = json.loads(out.strip().splitlines()[-1])
    assert leds["before"] == [1, 1, 0]  # yellow: awaiting check-in
    assert leds["after"] == [1, 0, 0]  # red: occupied, after the server saw the booker
    state = platform.api("GET", f"/api/v1/bookings/{booking}", "employee").json()
    assert (state["state"], state["checked_in_by"]) == ("checked_in", "sensor")
