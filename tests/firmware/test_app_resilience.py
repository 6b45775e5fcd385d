"""What the node does when things fail: backoff, watchdog, factory reset (under MicroPython)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.firmware import MicroPython
from tests.firmware.test_app import run_node
from harness.observer import Observer
from harness.services import Service, free_port, wait_for

BACKOFF = """
import asyncio, json, hostsim, machine, network, ntptime, app, config
node = app.Node(config.load(), machine, network, ntptime, rand=lambda: 0.0)
async def main():
    asyncio.create_task(node.connection())
    await asyncio.sleep(8)
    print(json.dumps({"connected": node.client is not None and node.client.connected}))
asyncio.run(main())
"""

WATCHDOG = """
import asyncio, json, time, hostsim, machine, network, ntptime, app, config
node = app.Node(config.load(), machine, network, ntptime)
async def crash_later():
    await asyncio.sleep(1.5)
    hostsim.pin_error = OSError(5)  # the PIR driver starts failing with EIO
async def main():
    asyncio.create_task(crash_later())
    try:
        await node.run()
    except OSError as exc:
        print("node.run ended:", repr(exc))
asyncio.run(main())
time.sleep(1.5)  # on the board, main.py has ended: nothing feeds the watchdog now
starved = time.ticks_diff(time.ticks_ms(), hostsim.wdt["last"]) > hostsim.wdt["timeout"]
print(json.dumps({"fed": hostsim.wdt["feeds"], "starved": starved}))
"""


def test_broker_away_means_backoff_not_a_busy_loop(tmp_path: Path) -> None:
    cfg = {"device_id": "desk-backoff", "mqtt_host": "127.0.0.1", "mqtt_port": free_port(),
           "wdt_ms": 0, "pir_pin": 4}
    proc = run_node(tmp_path, BACKOFF, cfg)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    attempts = [line for line in out.splitlines() if line.startswith("connection failed")]
    # with jitter fixed at its floor the waits are 0.5, 1, 2, 4 s: five tries in 8 s
    assert 4 <= len(attempts) <= 6, attempts
    assert json.loads(out.strip().splitlines()[-1]) == {"connected": False}


def test_a_crashed_sensor_loop_starves_the_watchdog(tmp_path: Path) -> None:
    cfg = {"device_id": "desk-wdt", "mqtt_host": "127.0.0.1", "mqtt_port": free_port(),
           "pir_pin": 4, "wdt_ms": 1000}
    proc = run_node(tmp_path, WATCHDOG, cfg)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "node.run ended: OSError(5" in out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["fed"] >= 1  # fed while healthy
    assert result["starved"] is True  # ... and never again once the loop died


def test_factory_reset_only_when_the_button_is_held(tmp_path: Path, mpy: MicroPython) -> None:
    out = mpy.run("""
import json, os, hostsim, machine, command
def files():
    return sorted(f for f in os.listdir() if f.endswith(".json"))
for f in ("config.json", "state.json"):
    with open(f, "w") as fh:
        fh.write("{}")
hostsim.pins[0] = 1  # button not pressed (pulled up)
kept = command.factory_reset(machine, 0, hold_ms=200), files()
hostsim.pins[0] = 0  # held down through power-up
wiped = command.factory_reset(machine, 0, hold_ms=200), files()
print(json.dumps({"kept": kept, "wiped": wiped}))
""", cwd=tmp_path, host=True)
    assert out == {"kept": [False, ["config.json", "state.json"]], "wiped": [True, []]}


REBOOT = """
import asyncio, json, hostsim, machine, network, ntptime, app, config
node = app.Node(config.load(), machine, network, ntptime)
try:
    asyncio.run(node.run())
finally:
    print(json.dumps({"resets": len(hostsim.resets), "buffered": len(node.ring)}))
"""


def test_reboot_command_is_acknowledged_before_the_reset(
    tmp_path: Path, mosquitto: Service, unique_name: str
) -> None:
    cfg = {"device_id": f"desk-{unique_name}", "base_topic": unique_name, "pir_pin": 4,
           "mqtt_host": "127.0.0.1", "mqtt_port": mosquitto.port, "wdt_ms": 0}
    obs = Observer(mosquitto.port, f"{unique_name}/v1/dev/{cfg['device_id']}")
    proc = run_node(tmp_path, REBOOT, cfg)
    try:
        wait_for(lambda: obs.uplinks("presence"), "node never came up")
        obs.publish(f"{unique_name}/v1/dev/{cfg['device_id']}/down/cmd",
                    {"v": 1, "cmd_id": "r1", "cmd": "reboot"})
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
        obs.close()
    assert [(a.cmd_id, a.ok) for a in obs.uplinks("ack")] == [("r1", True)]
    assert json.loads(out.strip().splitlines()[-1]) == {"resets": 1, "buffered": 0}
