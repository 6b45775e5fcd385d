"""A desk node: PIR and/or LD2410 radar fused into presence, and the desk's status LED.

Loaded only by desk nodes (RAM is scarce: each kind brings only its own code).
"""

import asyncio

import ld2410
import presence

from ticks import ticks_diff, ticks_ms

COLOURS = {"free": (0, 1, 0), "booked": (0, 0, 1), "awaiting_checkin": (1, 1, 0),
           "occupied": (1, 0, 0), "off": (0, 0, 0)}


def led(node, pins, now):
    """Show the desired state, or blink white while ``identify`` runs."""
    colour = COLOURS.get(node.led_state, (0, 0, 0))
    if node.identify_until is not None:
        if ticks_diff(node.identify_until, now) > 0:
            colour = (1, 1, 1) if (now // 250) % 2 else (0, 0, 0)
        else:
            node.identify_until = None
    for pin, level in zip(pins, colour):
        pin.value(level)


async def run(node):
    """Sample the sensors every 100 ms; presence on change and as a keep-alive."""
    m, cfg = node.m, node.cfg
    pir = m.Pin(cfg["pir_pin"], m.Pin.IN) if cfg["pir_pin"] is not None else None
    uart = None
    if cfg["radar_uart"]:
        uid, tx, rx = cfg["radar_uart"]
        uart = m.UART(uid, baudrate=256000, tx=tx, rx=rx)
    pins = [m.Pin(p, m.Pin.OUT) for p in cfg["led_pins"] or ()]
    parser = ld2410.Parser()
    fused = presence.Presence(cfg["hold_s"] * 1000)
    radar, radar_seen, errors_seen = None, ticks_ms(), 0
    last_sent = None
    while True:
        now = ticks_ms()
        node.alive["sensor"] = now
        if uart is not None:
            data = uart.read()
            if data:
                targets = parser.feed(data)
                if targets:
                    radar, radar_seen = targets[-1], now
            if parser.errors > errors_seen:
                node.fault("ld2410", "%d corrupt frames" % (parser.errors - errors_seen))
                errors_seen = parser.errors
            if radar is not None and ticks_diff(now, radar_seen) > 2000:
                node.fault("ld2410", "no frames for 2 s")
                radar = None
        fused.hold_ms = cfg["hold_s"] * 1000  # a remote config change applies at once
        changed = fused.update(now, pir=pir.value() if pir else None, radar=radar)
        if changed or last_sent is None or ticks_diff(
                now, last_sent) >= cfg["presence_keepalive_s"] * 1000:
            fields = {"occupied": fused.occupied, "source": fused.source}
            if fused.distance_cm is not None:
                fields["distance_cm"] = fused.distance_cm
            node.enqueue("presence", fields)
            last_sent = now
        led(node, pins, now)
        await asyncio.sleep(0.1)
