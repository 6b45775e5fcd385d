"""A paho subscriber that collects what devices publish, for tests (a client we did not write)."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from contracts.payloads import parse_uplink


class Observer:
    """Collects everything under a device's topics with paho (a client we did not write)."""

    def __init__(self, port: int, prefix: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"obs-{prefix[-12:]}", protocol=paho.MQTTv311
        )
        subscribed = threading.Event()
        self.c.on_subscribe = lambda *_: subscribed.set()
        self.c.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.c.subscribe(f"{prefix}/#", 1)
        assert subscribed.wait(5)

    def uplinks(self, stream: str) -> list[Any]:
        return [parse_uplink(stream, p) for t, p in self.messages if t.endswith(f"/up/{stream}")]

    def publish(self, topic: str, payload: dict[str, Any], retain: bool = False) -> None:
        self.c.publish(topic, json.dumps(payload), qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.c.loop_stop()
        self.c._reset_sockets()
