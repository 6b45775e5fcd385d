"""The node application: one program, three kinds of node chosen by ``config.json``.

Tasks: the connection (Wi-Fi, NTP, MQTT with backoff and jitter), the sender (drains the
ring buffer at QoS 1), the heartbeat, the node kind's sensor loop, and the watchdog, fed
only while the sensor and sender loops are alive. Each kind's loop is a module of its own
(desknode, roomnode, meternode), and commands are loaded at the first one: bytecode loaded
from the filesystem lives in the GC heap, so a node holds only the code it runs.
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

from ticks import ticks_diff, ticks_ms

FW = "1.1.0"
STATE_FILE = "state.json"
# The contract's bound on boot and seq (a signed 32-bit count).
COUNT_MAX = 2147483647
# Some ports count time from 2000-01-01; the contract wants Unix epoch milliseconds.
EPOCH_OFFSET_S = 946684800 if time.gmtime(0)[0] == 2000 else 0
# The desired states a desk's LED shows (desknode.COLOURS).
LED_STATES = ("free", "booked", "awaiting_checkin", "occupied", "off")
# Each node kind's own module, loaded by that kind alone.
KINDS = {"desk": "desknode", "room": "roomnode", "energy": "meternode"}


def _heap_free():
    return gc.mem_free() if hasattr(gc, "mem_free") else 0  # CPython (simulator): unknown


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
        self.ring = ringbuf.Ring(cfg["buffer_bytes"])
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
        self.ring.push(topics.STREAMS.index(stream), json.dumps(msg).encode())

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
                await self.client.publish(
                    topics.uplink(self.base, self.id, topics.STREAMS[stream]), body, qos=1)
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
            if msg.get("state") in LED_STATES:
                self.led_state = msg["state"]
            return
        cmd_id = msg.get("cmd_id")
        if not isinstance(cmd_id, str) or not cmd_id:
            self.fault("downlink", "command without cmd_id")
            return
        import command

        error = command.run(self, msg.get("cmd"), msg.get("args") or {})
        ack = {"cmd_id": cmd_id, "ok": error is None}
        if error:
            ack["error"] = error[:200]
        self.enqueue("ack", ack)

    async def run(self):
        """Run every task of this node until one of them ends it."""
        kind = __import__(KINDS[self.cfg["kind"]])
        await asyncio.gather(self.connection(), self.sender(), self.heartbeat(),
                             self.watchdog(), kind.run(self))


def main():
    """Entry point on the board (``main.py`` calls it)."""
    import machine
    import network

    try:
        import ntptime
    except ImportError:
        ntptime = None  # type: ignore[assignment]
    cfg = config.load()
    if cfg["reset_pin"] is not None:
        import command

        if command.factory_reset(machine, cfg["reset_pin"]):
            machine.reset()
    if not cfg["device_id"]:
        print("no config.json: flash this node with `smartoffice device flash`")
        return
    asyncio.run(Node(cfg, machine, network, ntptime).run())
