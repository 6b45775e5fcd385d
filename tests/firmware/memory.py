"""Run a desk node compiled to .mpy under a small MicroPython heap and sample free memory.

Shared by tests/firmware/test_memory.py (short) and bench/firmware_memory.py (long).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.firmware.conftest import FIRMWARE, HOST, micropython_binary

SCENARIO = """
import gc, asyncio, json, sys, hostsim, machine, network, ntptime, app, config, ld2410
gc.collect()
after_import = gc.mem_free()
node = app.Node(config.load(), machine, network, ntptime)
async def main():
    asyncio.create_task(node.run())
    steps = int(sys.argv[1])
    for i in range(steps):
        hostsim.pins[4] = 1 if i % 7 < 3 else 0  # arrivals, departures, still periods
        if i % 7 == 1:
            hostsim.uart_rx.setdefault(1, bytearray()).extend(
                ld2410.frame(ld2410.STILL, 0, 0, 90 + i % 20, 40, 95))
        await asyncio.sleep(0.1)
        if i % 20 == 0:
            gc.collect()
            print("free", gc.mem_free())  # one line each: no big string at the end
    print(json.dumps({"after_import": after_import, "seq": node.seq,
                      "dropped": node.ring.dropped, "errors": node.sensor_errors}))
asyncio.run(main())
"""


def compile_mpy(out: Path) -> Path:
    """Firmware and host stand-ins as bytecode .mpy, as a board would hold them."""
    mpy_cross = Path(micropython_binary()).with_name("mpy-cross")
    out.mkdir(parents=True, exist_ok=True)
    for src in [*(FIRMWARE / "lib").glob("*.py"), *HOST.glob("*.py")]:
        subprocess.run([str(mpy_cross), "-o", str(out / f"{src.stem}.mpy"), str(src)], check=True)
    return out


def run(
    workdir: Path, *, broker_port: int, heap: str, steps: int, ca_der: bytes | None = None
) -> dict[str, Any]:
    """Run the desk node for ``steps`` tenths of a second; return its memory samples.

    With ``ca_der`` the node speaks TLS to the broker, pinning that CA.
    """
    lib = compile_mpy(workdir / "mpy")
    tls = {}
    if ca_der is not None:
        (workdir / "ca.der").write_bytes(ca_der)
        tls = {"mqtt_tls": True, "mqtt_ca": "ca.der"}
    (workdir / "config.json").write_text(
        json.dumps(
            {
                "device_id": "desk-memory",
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
        )
    )
    (workdir / "scenario.py").write_text(SCENARIO)
    proc = subprocess.run(
        [micropython_binary(), "-X", f"heapsize={heap}", "scenario.py", str(steps)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=steps / 10 + 120,
        env={"MICROPYPATH": f"{lib}:.frozen", "PATH": "/usr/bin:/bin"},
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"node failed under {heap} heap:\n{proc.stdout[-2000:]}\n{proc.stderr}"
        )
    lines = proc.stdout.strip().splitlines()
    result = dict(json.loads(lines[-1]))
    result["samples"] = [int(line.split()[1]) for line in lines if line.startswith("free ")]
    return result
