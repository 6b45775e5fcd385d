"""The node application: one program, three kinds of node chosen by ``config.json``.

Tasks: the connection (Wi-Fi, NTP, MQTT with backoff and jitter), the sender (drains the
ring buffer at QoS 1), the heartbeat, the node kind's sensor loop, and the watchdog, fed
only while the sensor and sender loops are alive.
"""

import asyncio
import gc
import json
import os
import time

import config
import mqtt
import ringbuf
import topics

from ticks import ticks_add, ticks_diff, ticks_ms

FW = "1.1.0"
STATE_FILE = "state.json"
# The contract's bound on boot and seq (a signed 32-bit count).
COUNT_MAX = 2147483647
# Some ports count time from 2000-01-01; the contract wants Unix epoch milliseconds.
EPOCH_OFFSET_S = 946684800 if time.gmtime(0)[0] == 2000 else 0
LED_COLOURS = {"free": (0, 1, 0), "booked": (0, 0, 1), "awaiting_checkin": (1, 1, 0),
               "occupied": (1, 0, 0), "off": (0, 0, 0)}


def _heap_free():
    return gc.mem_free() if hasattr(gc, "mem_free") else 0  # CPython (simulator): unknown


def _sleep_ms(ms):
    if hasattr(time, "sleep_ms"):
        time.sleep_ms(ms)
    else:
        time.sleep(ms / 1000)


def epoch_ms():
    """Unix epoch milliseconds from the (NTP-set) clock."""
    if hasattr(time, "time_ns"):
        return time.time_ns() // 1000000 + EPOCH_OFFSET_S * 1000
    return int((time.time() + EPOCH_OFFSET_S) * 1000)


def next_boot(path=STATE_FILE):
    """Read, increment and persist the boot counter."""
    try:
        with open(path) as f:
            boot = json.load(f)["boot"] + 1
    except (OSError, ValueError, KeyError):
        boot = 1
    with open(path, "w") as f:
        json.dump({"boot": boot}, f)
    return boot


def new_boot_id():
    """32 random bits, drawn anew at every boot (the ESP32's hardware RNG).

    The boot counter lives in state.json, which a factory reset or an erased flash
    deletes; the node then counts from boot 1 again. The random boot id keeps its new
    (boot, bid, seq) keys from repeating old ones, so none of its readings are taken for
    duplicates.
    """
    b = os.urandom(4)
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) & 0xFFFFFFFF


class Node:
    """One sensor node."""

    def __init__(self, cfg, machine, network, ntptime=None, rand=None, home=""):
        self.home = home  # where state.json and config.json live ("" = the current dir)
        self.cfg = dict(config.DEFAULTS)
        self.cfg.update(cfg)
        cfg = self.cfg
        self.m = machine
        self.ntptime = ntptime
        self._rand = rand
        self.id = cfg["device_id"]
        self.base = cfg["base_topic"]
        self.boot = next_boot(home + STATE_FILE)
        self.bid = new_boot_id()
        self.seq = 0
        self.ring = ringbuf.Ring(cfg["buffer_size"])
        self.synced = False
        self.sensor_errors = 0
        self.last_error = None
        self.started = ticks_ms()
        self.client = None
        self.alive = {}
        self.led_state = "off"
        self.identify_until = None
        self.wlan = network.WLAN(network.STA_IF)
        self.rssi = -120
        self.reset_after = None

    # -- readings -------------------------------------------------------------------
    def enqueue(self, stream, fields):
        """Stamp a reading with boot, seq and (once synced) time, and buffer it."""
        if self.seq > COUNT_MAX:
            # Beyond the contract's counter: go on as a new boot (decades at 1 Hz).
            self.boot = next_boot(self.home + STATE_FILE)
            self.bid = new_boot_id()
            self.seq = 0
        msg = {"v": 1, "boot": self.boot, "bid": self.bid, "seq": self.seq}
        if self.synced:
            msg["ts"] = epoch_ms()
        msg.update(fields)
        self.seq += 1
        self.ring.push((stream, json.dumps(msg)))

    def fault(self, source, exc):
        """Count a sensor fault; the heartbeat reports it."""
        self.sensor_errors += 1
        self.last_error = ("%s: %s" % (source, exc))[:80]

    def _status(self, state):
        return json.dumps({"v": 1, "state": state, "boot": self.boot, "bid": self.bid,
                           "fw": FW, "kind": self.cfg["kind"]})

    def _jitter(self, seconds):
        r = self._rand() if self._rand else (ticks_diff(ticks_ms(), 0) % 1000) / 1000
        return seconds * (0.5 + r / 2)

    async def _nap(self, name, seconds):
        """Sleep in one-second steps, staying alive for the watchdog."""
        while seconds > 0:
            self.alive[name] = ticks_ms()
            await asyncio.sleep(min(1, seconds))
            seconds -= 1

    # -- connection -------------------------------------------------------------------
    async def connection(self):
        """Keep Wi-Fi and MQTT up, with exponential backoff and jitter between tries."""
        delay = 1
        while True:
            if self.client is not None and self.client.connected:
                await asyncio.sleep(1)
                continue
            try:
                await self._wifi()
                if not self.synced:
                    self._ntp()
                await self._mqtt()
                delay = 1
            except (OSError, mqtt.MQTTError) as exc:
                print("connection failed:", exc)
                await asyncio.sleep(self._jitter(delay))
                delay = min(delay * 2, 60)

    async def _wifi(self):
        if self.wlan.isconnected():
            return
        self.wlan.active(True)
        self.wlan.connect(self.cfg["wifi_ssid"], self.cfg["wifi_password"])
        for _ in range(100):
            if self.wlan.isconnected():
                return
            await asyncio.sleep(0.2)
        raise OSError("Wi-Fi did not connect")

    def _ntp(self):
        if self.ntptime is None:
            return
        try:
            self.ntptime.host = self.cfg["ntp_host"]
            self.ntptime.settime()
            self.synced = True
        except (OSError, OverflowError) as exc:
            print("NTP failed:", exc)

    async def _mqtt(self):
        if self.client is not None:
            await self.client.disconnect()
        status = topics.status(self.base, self.id)
        self.client = mqtt.Client(
            self.id, self.cfg["mqtt_host"], self.cfg["mqtt_port"], user=self.id,
            password=self.cfg["mqtt_password"] or None, keepalive=self.cfg["keepalive_s"],
            will=(status, self._status("offline"), 1, True), clean=False,
            on_message=self.on_message, ssl=self._tls(),
        )
        await self.client.connect()
        await self.client.publish(status, self._status("online").encode(), qos=1, retain=True)
        await self.client.subscribe(topics.down_cmd(self.base, self.id))
        await self.client.subscribe(topics.down_state(self.base, self.id))

    def _tls(self):
        """The TLS context pinning the broker's CA, or None for plain MQTT."""
        if not self.cfg["mqtt_tls"]:
            return None
        import ssl

        with open(self.home + self.cfg["mqtt_ca"], "rb") as f:
            ca = f.read()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = ssl.CERT_REQUIRED  # type: ignore[attr-defined]  # not in the stubs
        try:
            ctx.load_verify_locations(cadata=ca)
        except ValueError as exc:
            raise mqtt.MQTTError("%s is not a CA certificate: %s" % (self.cfg["mqtt_ca"], exc))
        return ctx

    async def sender(self):
        """Publish buffered readings oldest first; a reading leaves the ring on PUBACK."""
        while True:
            self.alive["send"] = ticks_ms()
            item = self.ring.peek()
            if item is None or self.client is None or not self.client.connected:
                await asyncio.sleep(0.1)
                continue
            stream, body = item
            try:
                await self.client.publish(topics.uplink(self.base, self.id, stream),
                                          body.encode(), qos=1)
                self.ring.pop()
            except (OSError, mqtt.MQTTError):
                await asyncio.sleep(0.5)
            if self.reset_after is not None and not len(self.ring):
                await asyncio.sleep(1)
                self.m.reset()

    # -- health -----------------------------------------------------------------------
    async def heartbeat(self):
        """Uptime, signal, memory, buffer and sensor health, every ``heartbeat_s``."""
        while True:
            await self._nap("heartbeat", self.cfg["heartbeat_s"])
            if self.wlan.isconnected():
                self.rssi = max(-120, min(0, self.wlan.status("rssi")))
            gc.collect()
            fields = {"uptime_s": ticks_diff(ticks_ms(), self.started) // 1000,
                      "rssi_dbm": self.rssi, "heap_free": _heap_free(), "fw": FW,
                      "buffered": len(self.ring), "dropped": self.ring.dropped,
                      "sensor_errors": self.sensor_errors}
            if self.last_error:
                fields["last_error"] = self.last_error
            self.enqueue("heartbeat", fields)

    async def watchdog(self):
        """Feed the hardware watchdog only while the sensor and sender loops run."""
        wdt_ms = self.cfg["wdt_ms"]
        if not wdt_ms:
            return
        wdt = self.m.WDT(timeout=wdt_ms)
        while True:
            now = ticks_ms()
            if all(ticks_diff(now, self.alive.get(k, now)) < wdt_ms // 2
                   for k in ("sensor", "send")):
                wdt.feed()
            await asyncio.sleep(1)

    # -- commands ---------------------------------------------------------------------
    def on_message(self, topic, payload, retained):
        """Downlink: desired state, or a command answered on ``up/ack``."""
        try:
            msg = json.loads(payload)
        except ValueError:
            self.fault("downlink", "not JSON on " + topic)
            return
        if topic.endswith("/down/state"):
            if msg.get("state") in LED_COLOURS:
                self.led_state = msg["state"]
            return
        cmd_id = msg.get("cmd_id")
        if not isinstance(cmd_id, str) or not cmd_id:
            self.fault("downlink", "command without cmd_id")
            return
        error = self.command(msg.get("cmd"), msg.get("args") or {})
        ack = {"cmd_id": cmd_id, "ok": error is None}
        if error:
            ack["error"] = error[:200]
        self.enqueue("ack", ack)

    def command(self, cmd, args):
        """Carry out a command; None when done, else why not."""
        if cmd == "identify":
            seconds = args.get("seconds", 10)
            if not isinstance(seconds, int) or not 1 <= seconds <= 300:
                return "seconds must be 1-300"
            self.identify_until = ticks_add(ticks_ms(), seconds * 1000)
            return None
        if cmd == "reboot":
            self.reset_after = True  # once the ack has been sent
            return None
        if cmd == "config":
            error = config.check_remote(args)
            if error:
                return error
            self.cfg.update(args)
            stored = config.load(self.home + "config.json")
            stored.update(args)
            config.save(stored, self.home + "config.json")
            return None
        return "unknown command %r" % (cmd,)

    # -- node kinds -------------------------------------------------------------------
    def _led(self, pins, now):
        colour = LED_COLOURS.get(self.led_state, (0, 0, 0))
        if self.identify_until is not None:
            if ticks_diff(self.identify_until, now) > 0:
                colour = (1, 1, 1) if (now // 250) % 2 else (0, 0, 0)
            else:
                self.identify_until = None
        for pin, level in zip(pins, colour):
            pin.value(level)

    async def desk(self):
        """PIR and/or LD2410 radar, fused; presence on change and as a keep-alive."""
        import ld2410  # each kind imports only its own drivers: RAM is scarce
        import presence

        m, cfg = self.m, self.cfg
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
            self.alive["sensor"] = now
            if uart is not None:
                data = uart.read()
                if data:
                    targets = parser.feed(data)
                    if targets:
                        radar, radar_seen = targets[-1], now
                if parser.errors > errors_seen:
                    self.fault("ld2410", "%d corrupt frames" % (parser.errors - errors_seen))
                    errors_seen = parser.errors
                if radar is not None and ticks_diff(now, radar_seen) > 2000:
                    self.fault("ld2410", "no frames for 2 s")
                    radar = None
            fused.hold_ms = cfg["hold_s"] * 1000  # a remote config change applies at once
            changed = fused.update(now, pir=pir.value() if pir else None, radar=radar)
            if changed or last_sent is None or ticks_diff(
                    now, last_sent) >= cfg["presence_keepalive_s"] * 1000:
                fields = {"occupied": fused.occupied, "source": fused.source}
                if fused.distance_cm is not None:
                    fields["distance_cm"] = fused.distance_cm
                self.enqueue("presence", fields)
                last_sent = now
            self._led(pins, now)
            await asyncio.sleep(0.1)

    async def room(self):
        """SCD4x CO2/temperature/humidity (and light) every interval and on large change."""
        import scd4x

        m, cfg = self.m, self.cfg
        bus, scl, sda = cfg["i2c"]
        sensor = scd4x.SCD4x(m.I2C(bus, scl=m.Pin(scl), sda=m.Pin(sda)), _sleep_ms)
        adc = m.ADC(m.Pin(cfg["light_adc_pin"])) if cfg["light_adc_pin"] is not None else None
        door = None
        if cfg["door_pins"]:
            import doorcount

            door = doorcount.DoorCounter()
            beams = [m.Pin(p, m.Pin.IN) for p in cfg["door_pins"]]
            asyncio.create_task(self._count_people(door, beams))
        started, last, last_sent = False, None, ticks_ms()
        while True:
            now = ticks_ms()
            self.alive["sensor"] = now
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
                        fields = {"co2_ppm": co2, "temp_c": round(temp, 2),
                                  "rh_pct": round(rh, 1)}
                        if adc is not None:
                            fields["lux"] = round(adc.read_u16() / 65535 * 2000, 1)
                        self.enqueue("env", fields)
                        last, last_sent = (co2, temp), now
            except (scd4x.CRCError, OSError) as exc:
                self.fault("scd4x", exc)
                started = started and not isinstance(exc, OSError)
            await asyncio.sleep(1)

    async def _count_people(self, door, beams):
        """Sample the door beams every 20 ms; publish ``people`` when the count changes."""
        while True:
            if door.update(ticks_ms(), beams[0].value(), beams[1].value()):
                self.enqueue("people", {"count": door.count})
            await asyncio.sleep(0.02)

    async def energy(self):
        """PZEM-004T meters on one Modbus bus, each with a circuit label."""
        import pzem

        m, cfg = self.m, self.cfg
        uid, tx, rx = cfg["meter_uart"]
        uart = m.UART(uid, baudrate=9600, tx=tx, rx=rx)
        while True:
            self.alive["sensor"] = ticks_ms()
            for meter in cfg["meters"]:
                address = meter.get("address", pzem.GENERAL_ADDRESS)
                uart.read()  # drop anything stale
                uart.write(pzem.read_request(address))
                await asyncio.sleep(0.1)  # 25 bytes at 9600 baud take 26 ms
                try:
                    r = pzem.parse_reply(uart.read(pzem.REPLY_LEN) or b"", address)
                except pzem.ModbusError as exc:
                    self.fault("pzem %d" % address, exc)
                    continue
                fields = {"power_w": r.power_w, "energy_wh": r.energy_wh,
                          "voltage_v": r.voltage_v, "current_a": r.current_a, "pf": r.pf}
                if meter.get("circuit"):
                    fields["circuit"] = meter["circuit"]
                self.enqueue("energy", fields)
            await self._nap("sensor", cfg["energy_interval_s"])

    async def run(self):
        """Run every task of this node until one of them ends it."""
        kind = {"desk": self.desk, "room": self.room, "energy": self.energy}[self.cfg["kind"]]
        await asyncio.gather(self.connection(), self.sender(), self.heartbeat(),
                             self.watchdog(), kind())


def factory_reset(machine, pin_id, hold_ms=5000):
    """If ``pin_id`` is held low for ``hold_ms`` at power-up, forget config and state."""
    import os

    pin = machine.Pin(pin_id, machine.Pin.IN, machine.Pin.PULL_UP)
    start = ticks_ms()
    while ticks_diff(ticks_ms(), start) < hold_ms:
        if pin.value():
            return False
        time.sleep_ms(50)
    for path in ("config.json", STATE_FILE):
        try:
            os.remove(path)
        except OSError:
            pass
    return True


def main():
    """Entry point on the board (``main.py`` calls it)."""
    import machine
    import network

    try:
        import ntptime
    except ImportError:
        ntptime = None  # type: ignore[assignment]
    cfg = config.load()
    if cfg["reset_pin"] is not None and factory_reset(machine, cfg["reset_pin"]):
        machine.reset()
    if not cfg["device_id"]:
        print("no config.json: flash this node with `smartoffice device flash`")
        return
    asyncio.run(Node(cfg, machine, network, ntptime).run())
