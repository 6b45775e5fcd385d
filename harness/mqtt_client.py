"""A paho client acting as one device (or an intruder) in broker tests."""

from __future__ import annotations

import threading

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class DeviceClient:
    """Connects with a username and password and records what it receives."""

    def __init__(self, port: int, user: str | None, password: str | None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.refused: object = None
        self.c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=user or "anonymous", protocol=paho.MQTTv311
        )
        if user:
            self.c.username_pw_set(user, password)
        self.c.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.c.on_connect = self._on_connect
        self.c.reconnect_delay_set(1, 2)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on_connect(self, _c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        if getattr(rc, "is_failure", False):
            self.refused = rc
        else:
            self.connected.set()

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the broker's SUBACK."""
        acked = threading.Event()
        self.c.on_subscribe = lambda *_: acked.set()
        result, _ = self.c.subscribe(topic, 1)
        assert result == 0
        assert acked.wait(5), f"no SUBACK for {topic}"

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        """Publish at QoS 1 and wait until it is sent."""
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        """Disconnect and release the sockets."""
        self.c.disconnect()
        self.c.loop_stop()
        self.c._reset_sockets()
