"""A small asyncio MQTT 3.1.1 client for the nodes (QoS 0/1, Last Will, keep-alive).

Runs on MicroPython's asyncio and on CPython's (the fleet simulator). umqtt.simple blocks
the whole node while it waits; this client lets sensors keep sampling while it sends.
"""

import asyncio
import struct

try:
    from typing import Any
except ImportError:  # MicroPython has no typing module; the name is only for mypy
    Any = object  # type: ignore[assignment]

from ticks import ticks_diff, ticks_ms


CONNECT, CONNACK, PUBLISH, PUBACK = 0x10, 0x20, 0x30, 0x40
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 0x82, 0x90, 0xC0, 0xD0, 0xE0
REFUSED = {1: "bad protocol", 2: "client id refused", 3: "broker unavailable",
           4: "bad username or password", 5: "not authorised"}


class MQTTError(Exception):
    """The broker refused us, or the connection is gone."""


def _length(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _str(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack("!H", len(b)) + b


class Client:
    """Connect, publish, subscribe; ``on_message(topic, payload, retained)`` gets downlink."""

    def __init__(self, client_id, host, port=1883, user=None, password=None, keepalive=60,
                 will=None, clean=True, on_message=None, ssl=None):
        self.client_id = client_id
        self.host = host
        self.port = port
        self.ssl = ssl  # an SSLContext: TLS, with the broker checked against its CA
        self.user = user
        self.password = password
        self.keepalive = keepalive
        self.will = will  # (topic, payload, qos, retain)
        self.clean = clean
        self.on_message = on_message
        self.connected = False
        self._reader = None  # type: Any
        self._writer = None  # type: Any
        self._lock = asyncio.Lock()
        self._pid = 0
        self._waiting = {}  # type: dict  # packet id -> Event
        self._tasks = []
        self._last_rx = ticks_ms()

    async def connect(self, timeout_s=10):
        """Open the connection and log in; raises MQTTError or OSError."""
        if self.ssl is None:
            opening = asyncio.open_connection(self.host, self.port)
        else:
            opening = asyncio.open_connection(self.host, self.port, ssl=self.ssl,
                                              server_hostname=self.host)
        self._reader, self._writer = await asyncio.wait_for(opening, timeout_s)
        flags = 0x02 if self.clean else 0
        payload = _str(self.client_id)
        if self.will:
            topic, msg, qos, retain = self.will
            flags |= 0x04 | qos << 3 | (0x20 if retain else 0)
            payload += _str(topic) + _str(msg)
        if self.user:
            flags |= 0x80
            payload += _str(self.user)
            if self.password:
                flags |= 0x40
                payload += _str(self.password)
        var = _str("MQTT") + bytes((4, flags)) + struct.pack("!H", self.keepalive)
        try:
            await self._send(CONNECT, var + payload)
            head = await asyncio.wait_for(self._reader.readexactly(4), timeout_s)
        except ValueError as exc:
            # MicroPython's TLS says so when the broker's certificate is not signed by our
            # CA (the handshake happens at the first write).
            await self._close()
            raise MQTTError("TLS: %s" % str(exc).strip())
        if head[0] != CONNACK or head[3] != 0:
            await self._close()
            raise MQTTError("broker refused: " + REFUSED.get(head[3], str(head[3])))
        self.connected = True
        self._last_rx = ticks_ms()
        self._tasks = [asyncio.create_task(self._read_loop()),
                       asyncio.create_task(self._ping_loop())]

    async def publish(self, topic, payload, qos=0, retain=False, timeout_s=10):
        """Send a message; with QoS 1 return only once the broker has acknowledged it."""
        if not self.connected:
            raise MQTTError("not connected")
        header = PUBLISH | qos << 1 | (1 if retain else 0)
        if qos == 0:
            await self._send(header, _str(topic) + payload)
            return
        pid = self._next_pid()
        done = asyncio.Event()
        self._waiting[pid] = done
        try:
            await self._send(header, _str(topic) + struct.pack("!H", pid) + payload)
            await asyncio.wait_for(done.wait(), timeout_s)
        except asyncio.TimeoutError:
            await self._close()
            raise MQTTError("no PUBACK within %d s" % timeout_s)
        finally:
            self._waiting.pop(pid, None)
        if not self.connected:
            raise MQTTError("connection lost before PUBACK")

    async def subscribe(self, topic, qos=1, timeout_s=10):
        """Subscribe and wait for the SUBACK."""
        pid = self._next_pid()
        done = asyncio.Event()
        self._waiting[pid] = done
        try:
            await self._send(SUBSCRIBE, struct.pack("!H", pid) + _str(topic) + bytes((qos,)))
            await asyncio.wait_for(done.wait(), timeout_s)
        finally:
            self._waiting.pop(pid, None)
        if not self.connected:
            raise MQTTError("connection lost before SUBACK")

    async def disconnect(self):
        """Say goodbye (the broker then does not publish the Last Will)."""
        if self.connected:
            try:
                await self._send(DISCONNECT, b"")
            except OSError:
                pass
        await self._close()

    def _next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    async def _send(self, header, body):
        async with self._lock:
            self._writer.write(bytes((header,)) + _length(len(body)) + body)
            await self._writer.drain()

    async def _read_loop(self):
        try:
            while True:
                first = (await self._reader.readexactly(1))[0]
                n, shift = 0, 0
                while True:
                    byte = (await self._reader.readexactly(1))[0]
                    n |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                body = await self._reader.readexactly(n) if n else b""
                self._last_rx = ticks_ms()
                kind = first & 0xF0
                if kind == PUBLISH:
                    await self._on_publish(first, body)
                elif kind in (PUBACK, SUBACK & 0xF0):
                    event = self._waiting.get(body[0] << 8 | body[1])
                    if event:
                        event.set()
        except (OSError, EOFError, ValueError, IndexError):
            pass  # connection gone or garbled: drop it, the node reconnects
        except asyncio.CancelledError:
            return
        await self._close(from_reader=True)

    async def _on_publish(self, first, body):
        qos = first >> 1 & 0x03
        tlen = body[0] << 8 | body[1]
        topic = body[2 : 2 + tlen].decode()
        pos = 2 + tlen
        if qos:
            pid = body[pos] << 8 | body[pos + 1]
            pos += 2
            await self._send(PUBACK, struct.pack("!H", pid))
        if self.on_message:
            self.on_message(topic, bytes(body[pos:]), bool(first & 0x01))

    async def _ping_loop(self):
        try:
            while self.connected:
                await asyncio.sleep(self.keepalive / 2)
                if ticks_diff(ticks_ms(), self._last_rx) > self.keepalive * 1500:
                    break  # the broker went silent: reconnect
                await self._send(PINGREQ, b"")
        except (OSError, asyncio.CancelledError):
            return
        await self._close()

    async def _close(self, from_reader=False):
        was = self.connected
        self.connected = False
        for event in self._waiting.values():
            event.set()  # waiters see connected == False
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._tasks = []
        if self._writer is not None:
            try:
                self._writer.close()
                await self._writer.wait_closed()
            except OSError:
                pass
            self._writer = None
        return was
