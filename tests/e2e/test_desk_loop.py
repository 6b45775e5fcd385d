"""The loop closed through the real chain: presence over Mosquitto -> gateway -> server ->
booking checked in -> the desk's LED state back on its retained ``down/state`` topic."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.harness.layouts import one_floor
from tests.harness.observer import Observer
from tests.harness.platform import Platform, status_payload
from tests.harness.services import Service, wait_for

B = "kantor-f"
WITA = ZoneInfo("Asia/Makassar")
ALWAYS_OPEN = {"open_minute": 0, "close_minute": 1440, "weekdays": [0, 1, 2, 3, 4, 5, 6],
               "public_holidays": False, "min_minutes": 15}  # fmt: skip


@pytest.fixture
def platform(tmp_path: Path, mosquitto: Service, unique_name: str) -> Iterator[Platform]:
    p = Platform(
        tmp_path,
        {"SMARTOFFICE_BASE_TOPIC": unique_name, "SMARTOFFICE_BOOKING_SWEEP_S": "1"},
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


def test_presence_checks_the_booking_in_and_the_led_follows(
    platform: Platform, mosquitto: Service, unique_name: str
) -> None:
    device = platform.api("POST", "/api/v1/devices", "installer", json={"kind": "desk"}).json()
    dev = device["device"]["id"]
    where = {"building": B, "desk": "m1"}
    assert platform.api(
        "PUT", f"/api/v1/devices/{dev}/assignment", "installer", json=where
    ).is_success
    base = f"{unique_name}/v1/dev/{dev}"
    obs = Observer(mosquitto.port, base)
    try:
        obs.publish(f"{base}/status", json.loads(status_payload("desk")), retain=True)
        now = datetime.now(WITA).replace(microsecond=0)
        made = platform.api("POST", "/api/v1/bookings", "employee", json={
            "building": B, "desk": "m1", "start": (now - timedelta(minutes=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat()})  # fmt: skip
        assert made.status_code == 201, made.text
        booking = made.json()["created"][0]["id"]

        def led() -> str | None:
            states = [json.loads(p)["state"] for t, p in obs.messages if t == f"{base}/down/state"]
            return states[-1] if states else None

        wait_for(lambda: led() == "awaiting_checkin", "the LED never asked for a check-in")
        presence = {"v": 1, "boot": 1, "seq": 0, "occupied": True, "source": "both",
                    "ts": int(datetime.now(WITA).timestamp() * 1000)}  # fmt: skip
        obs.publish(f"{base}/up/presence", presence)
        state = lambda: platform.api("GET", f"/api/v1/bookings/{booking}", "employee").json()  # noqa: E731
        wait_for(lambda: state()["state"] == "checked_in", "presence did not check the booking in")
        assert state()["checked_in_by"] == "sensor"
        wait_for(lambda: led() == "occupied", "the LED did not turn to occupied")
        live = platform.api("GET", "/api/v1/occupancy/live", "employee",
                            params={"building": B, "floor": "l1"}).json()  # fmt: skip
        assert live[0]["state"] == "occupied" and live[0]["occupied"] is True
        checked_out = platform.api("POST", f"/api/v1/bookings/{booking}/check-out", "employee")
        assert checked_out.json()["outcome"] == "attended"
        obs.publish(f"{base}/up/presence", {**presence, "seq": 1, "occupied": False,
                                            "ts": presence["ts"] + 1000})  # fmt: skip
        wait_for(lambda: led() == "free", "the LED did not go back to free")
    finally:
        obs.close()
    period = {"building": B, "start": (now - timedelta(days=1)).isoformat(),
              "end": (now + timedelta(days=1)).isoformat(), "by": "desk"}  # fmt: skip
    assert platform.api("GET", "/api/v1/reports/utilization", "employee",
                        params=period).status_code == 403  # fmt: skip
    report = platform.api("GET", "/api/v1/reports/utilization", "facility_manager",
                          params={**period, "format": "csv"})  # fmt: skip
    assert report.headers["content-type"].startswith("text/csv")
    (row,) = csv.DictReader(io.StringIO(report.text))
    assert (row["group"], row["bookings"], row["no_shows"], row["peak_occupied"]) == (
        "m1", "1", "0", "1")  # fmt: skip


def test_floor_maps_get_desk_changes_as_server_sent_events(platform: Platform) -> None:
    assert platform.server is not None
    events: list[dict[str, object]] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET", f"{platform.server.url}/api/v1/events", params={"building": B, "floor": "l1"},  # type: ignore[union-attr]
            headers=platform.headers("employee"), timeout=30,
        ) as resp:  # fmt: skip
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
    made = platform.api("POST", "/api/v1/bookings", "employee", json={
        "building": B, "desk": "m1", "start": (now + timedelta(minutes=5)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat()})  # fmt: skip
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
    from tests.firmware.test_node import desk_config, run_node

    cfg = desk_config(unique_name, mosquitto.port)
    made = platform.api("POST", "/api/v1/devices", "installer",
                        json={"kind": "desk", "id": cfg["device_id"]})  # fmt: skip
    assert made.status_code == 201
    where = {"building": B, "desk": "m1"}
    path = f"/api/v1/devices/{cfg['device_id']}/assignment"
    assert platform.api("PUT", path, "installer", json=where).is_success
    now = datetime.now(WITA).replace(microsecond=0)
    booking = platform.api("POST", "/api/v1/bookings", "employee", json={
        "building": B, "desk": "m1", "start": (now - timedelta(minutes=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat()}).json()["created"][0]["id"]  # fmt: skip
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
