"""The node application under MicroPython, with host stand-ins for the hardware, against
the private Mosquitto; everything it publishes must pass the contract's validators."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from contracts.payloads import parse_status, parse_uplink
from harness.firmware import micropython_binary, mp_env
from harness.observer import Observer
from harness.services import Service, running, wait_for
from harness.services import mosquitto as start_mosquitto

DESK_SCENARIO = """
import asyncio, json, sys, hostsim, machine, network, ntptime, app, config, ld2410
node = app.Node(config.load(), machine, network, ntptime)
async def main():
    asyncio.create_task(node.run())
    await asyncio.sleep(1.5)
    hostsim.pins[4] = 1  # someone arrives: the PIR fires
    await asyncio.sleep(0.5)
    hostsim.pins[4] = 0  # ... and sits still: only the radar sees them
    for _ in range(15):
        hostsim.uart_rx[1].extend(ld2410.frame(ld2410.STILL, 0, 0, 95, 40, 95))
        await asyncio.sleep(0.1)
    await asyncio.sleep(float(sys.argv[1]))
    print(json.dumps({"outputs": hostsim.outputs, "wdt": hostsim.wdt, "boot": node.boot}))
asyncio.run(main())
"""


def desk_config(unique_name: str, port: int) -> dict[str, Any]:
    return {"device_id": f"desk-{unique_name}", "kind": "desk", "base_topic": unique_name,
            "mqtt_host": "127.0.0.1", "mqtt_port": port, "wifi_ssid": "ikn", "pir_pin": 4,
            "radar_uart": [1, 17, 16], "led_pins": [25, 26, 27], "hold_s": 1,
            "heartbeat_s": 2, "presence_keepalive_s": 300, "wdt_ms": 4000, "keepalive_s": 10}


def run_node(tmp_path: Path, scenario: str, cfg: dict[str, Any], *args: str
             ) -> subprocess.Popen[str]:
    # The configuration goes where the installer puts it, config.json; argv stays short
    # because the unix port dies ("uncaught NLR") on an argument of 256 bytes or more.
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    script = tmp_path / "scenario.py"
    script.write_text(scenario)
    return subprocess.Popen(
        [micropython_binary(), str(script), *args], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=mp_env(host=True),
    )


def test_desk_node_reports_presence_heartbeats_and_answers_commands(
    mosquitto: Service, unique_name: str, tmp_path: Path
) -> None:
    cfg = desk_config(unique_name, mosquitto.port)
    prefix = f"{unique_name}/v1/dev/{cfg['device_id']}"
    obs = Observer(mosquitto.port, prefix)
    proc = run_node(tmp_path, DESK_SCENARIO, cfg, "5")
    try:
        wait_for(lambda: any(p.occupied for p in obs.uplinks("presence")), "no occupancy")
        obs.publish(f"{prefix}/down/cmd", {"v": 1, "cmd_id": "c1", "cmd": "identify",
                                          "args": {"seconds": 1}})
        obs.publish(f"{prefix}/down/cmd", {"v": 1, "cmd_id": "c2", "cmd": "config",
                                          "args": {"wifi_ssid": "evil"}})
        obs.publish(f"{prefix}/down/cmd", {"v": 1, "cmd_id": "c3", "cmd": "config",
                                          "args": {"co2_delta": 50}})
        obs.publish(f"{prefix}/down/state", {"v": 1, "state": "occupied"}, retain=True)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        proc.kill()
        obs.close()
    result = json.loads(out.strip().splitlines()[-1])

    presence = obs.uplinks("presence")
    assert [(p.occupied, p.source) for p in presence] == [
        (False, "pir"), (True, "pir"), (False, "mmwave")]
    assert all(p.ts is not None for p in presence)  # NTP time, so readings carry ts
    acks = {a.cmd_id: (a.ok, a.error) for a in obs.uplinks("ack")}
    assert acks == {"c1": (True, None), "c2": (False, "wifi_ssid cannot be changed remotely"),
                    "c3": (True, None)}
    stored = json.loads((tmp_path / "config.json").read_text())
    assert (stored["co2_delta"], stored["device_id"]) == (50, cfg["device_id"])
    beats = obs.uplinks("heartbeat")
    assert beats and beats[-1].fw == "1.1.0"
    assert beats[-1].sensor_errors >= 1 and "ld2410: no frames" in beats[-1].last_error
    # One boot, one unbroken sequence over every stream.
    every = [parse_uplink(t.rsplit("/", 1)[1], p) for t, p in obs.messages if "/up/" in t]
    assert sorted(m.seq for m in every) == list(range(len(every)))
    assert {m.boot for m in every} == {result["boot"]} == {1}
    states = [parse_status(p).state for t, p in obs.messages if t.endswith("/status")]
    assert states[0] == "online"
    # The LED shows the retained desired state once identify is over; the watchdog was fed.
    assert [result["outputs"][str(p)] for p in (25, 26, 27)] == [1, 0, 0]
    assert result["wdt"]["feeds"] > 0 and not result["wdt"]["expired"]


ROOM_SCENARIO = """
import asyncio, json, sys, hostsim, machine, network, ntptime, app, config, simsensors
sensor = simsensors.SCD4x(co2=650, temp_c=24.5, rh_pct=58.0)
hostsim.i2c_devices[0x62] = sensor
node = app.Node(config.load(), machine, network, ntptime)
async def walk_in():
    for _ in range(2):  # two people cross the door beams, outer then inner
        for outer, inner in ((1, 0), (1, 1), (0, 1), (0, 0)):
            hostsim.pins[32], hostsim.pins[33] = outer, inner
            await asyncio.sleep(0.1)
async def main():
    asyncio.create_task(node.run())
    await asyncio.sleep(1)
    await walk_in()
    await asyncio.sleep(1)
    sensor.corrupt = True  # a bad CRC on the bus: refused, counted, not published
    await asyncio.sleep(2)
    sensor.corrupt = False
    del hostsim.i2c_devices[0x62]  # the sensor stops answering
    await asyncio.sleep(2)
    hostsim.i2c_devices[0x62] = sensor  # ... and comes back with much more CO2
    sensor.co2 = 1400
    await asyncio.sleep(4)
    print(json.dumps({"errors": node.sensor_errors, "last": node.last_error}))
asyncio.run(main())
"""

ENERGY_SCENARIO = """
import asyncio, json, sys, hostsim, machine, network, ntptime, app, config, simsensors
meters = {1: (229.5, 5.2, 1150.0, 120000), 2: (230.1, 70.123, 16115.7, 1834002)}
hostsim.responders[2] = simsensors.pzem_bus(meters)
node = app.Node(config.load(), machine, network, ntptime)
async def main():
    asyncio.create_task(node.run())
    await asyncio.sleep(2)
    del meters[2]  # meter 2 stops answering
    await asyncio.sleep(6)
    print(json.dumps({"errors": node.sensor_errors, "last": node.last_error}))
asyncio.run(main())
"""


def _run_to_end(tmp_path: Path, scenario: str, cfg: dict[str, Any], port: int
                ) -> tuple[Observer, dict[str, Any]]:
    obs = Observer(port, f"{cfg['base_topic']}/v1/dev/{cfg['device_id']}")
    proc = run_node(tmp_path, scenario, cfg)
    try:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        proc.kill()
        obs.close()
    return obs, json.loads(out.strip().splitlines()[-1])


def test_room_node_counts_people_and_survives_bad_crc_and_a_silent_sensor(
    mosquitto: Service, unique_name: str, tmp_path: Path
) -> None:
    cfg = {"device_id": f"room-{unique_name}", "kind": "room", "base_topic": unique_name,
           "mqtt_host": "127.0.0.1", "mqtt_port": mosquitto.port, "i2c": [0, 22, 21],
           "door_pins": [32, 33],
           "env_interval_s": 60, "co2_delta": 100, "heartbeat_s": 2, "wdt_ms": 4000}
    obs, result = _run_to_end(tmp_path, ROOM_SCENARIO, cfg, mosquitto.port)
    assert [p.count for p in obs.uplinks("people")] == [1, 2]
    env = obs.uplinks("env")
    # the first reading, then only the large change: the interval (60 s) never came round
    assert [round(e.co2_ppm) for e in env] == [650, 1400]
    assert env[0].temp_c == pytest.approx(24.5, abs=0.01)
    assert env[0].rh_pct == pytest.approx(58.0, abs=0.1)
    assert result["errors"] >= 2
    beats = obs.uplinks("heartbeat")
    assert any(b.last_error and "CRC mismatch" in b.last_error for b in beats)
    assert any(b.last_error and "19" in b.last_error for b in beats)  # errno 19, ENODEV


def test_energy_node_reads_each_meter_with_its_circuit(
    mosquitto: Service, unique_name: str, tmp_path: Path
) -> None:
    cfg = {"device_id": f"em-{unique_name}", "kind": "energy", "base_topic": unique_name,
           "mqtt_host": "127.0.0.1", "mqtt_port": mosquitto.port, "meter_uart": [2, 17, 16],
           "meters": [{"address": 1, "circuit": "lighting"}, {"address": 2, "circuit": "hvac"}],
           "energy_interval_s": 5, "heartbeat_s": 3, "wdt_ms": 10000}
    obs, result = _run_to_end(tmp_path, ENERGY_SCENARIO, cfg, mosquitto.port)
    energy = obs.uplinks("energy")
    by_circuit = {e.circuit: e for e in energy}
    assert set(by_circuit) == {"lighting", "hvac"}
    hvac = by_circuit["hvac"]
    assert (hvac.voltage_v, hvac.current_a, hvac.power_w, hvac.energy_wh, hvac.pf) == (
        230.1, 70.123, 16115.7, 1834002, 1.0)
    assert [e.circuit for e in energy].count("hvac") == 1  # meter 2 went silent
    assert result["errors"] >= 1 and "pzem 2: short reply" in result["last"]


OUTAGE_SCENARIO = """
import asyncio, json, sys, hostsim, machine, network, ntptime, app, config
node = app.Node(config.load(), machine, network, ntptime)
async def main():
    asyncio.create_task(node.run())
    for i in range(40):  # someone comes and goes every 0.3 s for 12 s
        hostsim.pins[4] = i % 2
        if i == 10:
            hostsim.wifi_up = False  # the access point goes away for 1.5 s
        if i == 15:
            hostsim.wifi_up = True
        await asyncio.sleep(0.3)
    hostsim.pins[4] = 0
    for _ in range(100):  # wait until the buffer is empty (reconnect, then drain)
        if not len(node.ring) and node.client is not None and node.client.connected:
            break
        await asyncio.sleep(0.2)
    print(json.dumps({"seq": node.seq, "buffered": len(node.ring),
                      "dropped": node.ring.dropped}))
asyncio.run(main())
"""


def test_no_presence_event_is_lost_across_broker_and_wifi_outages(
    unique_name: str, tmp_path: Path
) -> None:
    with running(start_mosquitto(tmp_path / "broker")) as broker:
        cfg = {"device_id": f"desk-{unique_name}", "kind": "desk", "base_topic": unique_name,
               "mqtt_host": "127.0.0.1", "mqtt_port": broker.port, "pir_pin": 4, "hold_s": 0,
               "heartbeat_s": 60, "wdt_ms": 0, "buffer_bytes": 8192, "keepalive_s": 10}
        obs = Observer(broker.port, f"{unique_name}/v1/dev/{cfg['device_id']}")
        obs.c.on_connect = lambda c, *_: c.subscribe(
            f"{unique_name}/v1/dev/{cfg['device_id']}/#", 1)
        (tmp_path / "node").mkdir()
        proc = run_node(tmp_path / "node", OUTAGE_SCENARIO, cfg)
        try:
            wait_for(lambda: len(obs.uplinks("presence")) >= 4, "no presence before outage")
            broker.stop()  # the broker goes down while people come and go
            time.sleep(2.5)
            broker.start()
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            result = json.loads(out.strip().splitlines()[-1])
            wait_for(lambda: {m.seq for m in obs.uplinks("presence")} | {
                m.seq for m in obs.uplinks("heartbeat")} >= set(range(result["seq"])),
                "some readings never arrived")
        finally:
            proc.kill()
            obs.close()
    presence = obs.uplinks("presence")
    assert result["dropped"] == 0 and result["buffered"] == 0
    # every change was delivered (QoS 1 may repeat one; the gateway drops repeats)
    assert {p.seq for p in presence} == set(range(result["seq"]))
    changes = sorted({(p.seq, p.occupied) for p in presence})
    assert all(a[1] != b[1] for a, b in zip(changes, changes[1:], strict=False))


BOOT_SCENARIO = """
import json, hostsim, machine, network, ntptime, app, config
node = app.Node(config.load(), machine, network, ntptime)
node.enqueue("presence", {"occupied": True, "source": "pir"})
print(json.dumps({"reading": node.ring.pop()[1].decode(), "status": node._status("online")}))
"""


def test_a_node_that_starts_over_never_repeats_an_earlier_boots_keys(
    tmp_path: Path, unique_name: str
) -> None:
    """Factory reset and erased flash delete state.json; a replaced board never had it."""

    def boot(home: Path) -> tuple[Any, Any]:
        home.mkdir(exist_ok=True)
        proc = run_node(home, BOOT_SCENARIO, desk_config(unique_name, 1))
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        printed = json.loads(out.strip().splitlines()[-1])
        reading = parse_uplink("presence", printed["reading"].encode())
        status = parse_status(printed["status"].encode())
        assert (status.boot, status.bid) == (reading.boot, reading.bid)
        return reading.boot, reading.bid

    node = tmp_path / "node"
    first = boot(node)
    again = boot(node)  # an ordinary restart: the counter goes on
    (node / "state.json").unlink()  # the documented factory reset (and `flash --erase`)
    reset = boot(node)
    replaced = boot(tmp_path / "replacement")  # a new board given the same device id
    assert [b for b, _ in (first, again, reset, replaced)] == [1, 2, 1, 1]
    bids = [i for _, i in (first, again, reset, replaced)]
    assert all(isinstance(i, int) for i in bids) and len(set(bids)) == 4
    # Same (boot, seq) as the first boot's first reading, yet a different key.
    assert reset != first and replaced != first
