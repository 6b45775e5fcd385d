"""The node application under MicroPython, with host stand-ins for the hardware, against
the private Mosquitto; everything it publishes must pass the contract's validators."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contracts.payloads import parse_status, parse_uplink
from tests.firmware.conftest import micropython_binary, mp_env
from tests.harness.services import Service, wait_for

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


class Observer:
    """Collects everything under a device's topics with paho (a client we did not write)."""

    def __init__(self, port: int, prefix: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"obs-{prefix[-12:]}",
                             protocol=paho.MQTTv311)
        subscribed = threading.Event()
        self.c.on_subscribe = lambda *_: subscribed.set()
        self.c.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.c.subscribe(f"{prefix}/#", 1)
        assert subscribed.wait(5)

    def uplinks(self, stream: str) -> list[Any]:
        return [parse_uplink(stream, p) for t, p in self.messages if t.endswith(f"/up/{stream}")]

    def publish(self, topic: str, payload: dict[str, Any], retain: bool = False) -> None:
        self.c.publish(topic, json.dumps(payload), qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.c.loop_stop()
        self.c._reset_sockets()


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
    assert beats and beats[-1].fw == "1.0.0"
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
