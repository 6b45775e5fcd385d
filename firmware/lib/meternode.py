"""An energy node: PZEM-004T meters on one Modbus bus, each with a circuit label.

Loaded only by energy nodes.
"""

import asyncio

import pzem

from ticks import ticks_ms


async def run(node):
    """Read every meter each ``energy_interval_s``."""
    m, cfg = node.m, node.cfg
    uid, tx, rx = cfg["meter_uart"]
    uart = m.UART(uid, baudrate=9600, tx=tx, rx=rx)
    while True:
        node.alive["sensor"] = ticks_ms()
        for meter in cfg["meters"]:
            address = meter.get("address", pzem.GENERAL_ADDRESS)
            uart.read()  # drop anything stale
            uart.write(pzem.read_request(address))
            await asyncio.sleep(0.1)  # 25 bytes at 9600 baud take 26 ms
            try:
                r = pzem.parse_reply(uart.read(pzem.REPLY_LEN) or b"", address)
            except pzem.ModbusError as exc:
                node.fault("pzem %d" % address, exc)
                continue
            fields = {"power_w": r.power_w, "energy_wh": r.energy_wh,
                      "voltage_v": r.voltage_v, "current_a": r.current_a, "pf": r.pf}
            if meter.get("circuit"):
                fields["circuit"] = meter["circuit"]
            node.enqueue("energy", fields)
        await node._nap("sensor", cfg["energy_interval_s"])
