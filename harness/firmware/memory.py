"""Run a desk node compiled to .mpy under a small MicroPython heap and read its free memory.

Shared by tests/firmware/test_app_memory.py (short) and bench/firmware_memory.py (long).
:func:`run_main` starts the node the way a board does, through ``main.py``, and reads its
free heap from its own heartbeats on the broker.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from harness.firmware import FIRMWARE, HOST, micropython_binary


def compile_mpy(out: Path) -> Path:
    """Firmware (main.py too) and host stand-ins as bytecode .mpy, as a board holds them."""
    mpy_cross = Path(micropython_binary()).with_name("mpy-cross")
    out.mkdir(parents=True, exist_ok=True)
    for src in [FIRMWARE / "main.py", *(FIRMWARE / "lib").glob("*.py"), *HOST.glob("*.py")]:
        subprocess.run([str(mpy_cross), "-o", str(out / f"{src.stem}.mpy"), str(src)], check=True)
    return out


# What the board's boot does before main.py, on a host: the stand-ins for the sensors
# follow a scripted day, then main.py runs the node as on the board. Someone sits at the
# desk for 4 s of every 6 (moving now and then, still otherwise), then leaves for 2 s; the
# radar reports ten times a second.
BOOT = """
import hostsim, time
from ld2410 import frame, STILL, NONE
def here():
    return time.ticks_ms() % 6000 < 4000
def level(pin):
    return 1 if here() and time.ticks_ms() // 100 % 7 < 3 else 0
last = [0]
def radar(uart):
    now = time.ticks_ms() // 100
    if now == last[0]:
        return b""
    last[0] = now
    return frame(STILL, 0, 0, 90 + now % 20, 40, 95) if here() else frame(NONE, 0, 0, 0, 0, 0)
hostsim.pin_source, hostsim.uart_source = level, radar
import main
"""


def desk_config(device: str, broker_port: int, ca_der: bytes | None) -> dict[str, Any]:
    """A desk node's config.json with a 2 s heartbeat (a busy day in minutes)."""
    tls = {"mqtt_tls": True, "mqtt_ca": "ca.der"} if ca_der is not None else {}
    return {
        "device_id": device,
        "kind": "desk",
        "mqtt_host": "127.0.0.1",
        "mqtt_port": broker_port,
        "pir_pin": 4,
        "radar_uart": [1, 17, 16],
        "led_pins": [25, 26, 27],
        "hold_s": 0,
        "heartbeat_s": 2,
        "presence_keepalive_s": 30,
        "wdt_ms": 4000,
        **tls,
    }


def run_main(
    workdir: Path,
    *,
    broker_port: int,
    listen_port: int | None = None,
    heap: str,
    seconds: float,
    ca_der: bytes | None = None,
) -> dict[str, Any]:
    """Start the node through ``main.py`` under ``heap`` and let it run ``seconds``.

    The node's free heap is read from its own heartbeats (``heap_free``, measured after
    ``gc.collect()``), subscribed to on the broker at ``listen_port`` (default: the
    node's). Returns the heartbeats' free heap, the presence uplinks seen, and the node's
    output if it stopped by itself (a MemoryError at start, say).
    """
    lib = compile_mpy(workdir / "mpy")
    if ca_der is not None:
        (workdir / "ca.der").write_bytes(ca_der)
    device = "desk-memory"
    (workdir / "config.json").write_text(json.dumps(desk_config(device, broker_port, ca_der)))
    (workdir / "boot_host.py").write_text(BOOT)
    beats: list[int] = []
    presence = [0]
    connected = threading.Event()

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        if msg.topic.endswith("/heartbeat"):
            beats.append(int(json.loads(msg.payload)["heap_free"]))
        elif msg.topic.endswith("/presence"):
            presence[0] += 1

    listener = paho.Client(CallbackAPIVersion.VERSION2, client_id="memory-listener")
    listener.on_message = on_message
    listener.on_connect = lambda *a: connected.set()
    listener.connect("127.0.0.1", listen_port or broker_port)
    listener.subscribe(f"ikn/v1/dev/{device}/up/#", qos=1)
    listener.loop_start()
    try:
        connected.wait(10)
        proc = subprocess.Popen(
            [micropython_binary(), "-X", f"heapsize={heap}", "boot_host.py"],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={"MICROPYPATH": f"{lib}:.frozen", "PATH": "/usr/bin:/bin"},
        )
        try:
            out, _ = proc.communicate(timeout=seconds)
            stopped = True
        except subprocess.TimeoutExpired:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
            stopped = False
        time.sleep(0.5)  # the last heartbeat on its way
    finally:
        listener.loop_stop()
        listener.disconnect()
    return {
        "heap_free": beats,
        "presence": presence[0],
        "stopped": stopped,
        "output": out[-3000:] if stopped else "",
    }
