"""A room node: SCD4x CO2, temperature and humidity, light, and people through the door.

Loaded only by room nodes.
"""

import asyncio

import scd4x

from ticks import ticks_diff, ticks_ms


def _sleep_ms(ms):
    import time

    if hasattr(time, "sleep_ms"):
        time.sleep_ms(ms)
    else:
        time.sleep(ms / 1000)


async def _count_people(node, door, beams):
    """Sample the door beams every 20 ms; publish ``people`` when the count changes."""
    while True:
        if door.update(ticks_ms(), beams[0].value(), beams[1].value()):
            node.enqueue("people", {"count": door.count})
        await asyncio.sleep(0.02)


async def run(node):
    """Readings every interval and on a large change."""
    m, cfg = node.m, node.cfg
    bus, scl, sda = cfg["i2c"]
    sensor = scd4x.SCD4x(m.I2C(bus, scl=m.Pin(scl), sda=m.Pin(sda)), _sleep_ms)
    adc = m.ADC(m.Pin(cfg["light_adc_pin"])) if cfg["light_adc_pin"] is not None else None
    if cfg["door_pins"]:
        import doorcount

        beams = [m.Pin(p, m.Pin.IN) for p in cfg["door_pins"]]
        asyncio.create_task(_count_people(node, doorcount.DoorCounter(), beams))
    started, last, last_sent = False, None, ticks_ms()
    while True:
        now = ticks_ms()
        node.alive["sensor"] = now
        try:
            if not started:
                sensor.start()
                started = True
            elif sensor.ready():
                co2, temp, rh = sensor.read()
                due = last is None or ticks_diff(now, last_sent) >= cfg[
                    "env_interval_s"] * 1000 or abs(co2 - last[0]) >= cfg[
                    "co2_delta"] or abs(temp - last[1]) >= cfg["temp_delta"]
                if due:
                    fields = {"co2_ppm": co2, "temp_c": round(temp, 2), "rh_pct": round(rh, 1)}
                    if adc is not None:
                        fields["lux"] = round(adc.read_u16() / 65535 * 2000, 1)
                    node.enqueue("env", fields)
                    last, last_sent = (co2, temp), now
        except (scd4x.CRCError, OSError) as exc:
            node.fault("scd4x", exc)
            started = started and not isinstance(exc, OSError)
        await asyncio.sleep(1)
