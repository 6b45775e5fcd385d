"""The gateway's MQTT link; the only module that imports paho.

A persistent session (clean session off) with QoS 1 subscriptions means the broker keeps
everything published while the gateway is away. Acknowledgement is manual: the pipeline
acks a message only after it is committed to the outbox.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """One received MQTT message."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    received_ms: int


class MqttLink:
    """A paho client on its own network thread, handing messages to ``on_message``."""

    def __init__(
        self,
        *,
        client_id: str,
        host: str,
        port: int,
        subscriptions: list[str],
        on_message: Callable[[MqttMessage], None],
        will: tuple[str, bytes],
        online: tuple[str, bytes],
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        ca_file: Path | None = None,
        keepalive_s: int = 30,
    ) -> None:
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=paho.MQTTv311,
            manual_ack=True,
        )
        if username:
            self._client.username_pw_set(username, password)
        if tls:
            self._client.tls_set(
                ca_certs=str(ca_file) if ca_file else None, tls_version=ssl.PROTOCOL_TLS_CLIENT
            )
        self._client.will_set(will[0], will[1], qos=1, retain=True)
        self._client.reconnect_delay_set(1, 30)
        self._client.max_queued_messages_set(0)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._host, self._port, self._keepalive = host, port, keepalive_s
        self._subscriptions = subscriptions
        self._deliver = on_message
        self._will, self._online = will, online
        self.connected = False
        """True once connected and subscribed."""

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself."""
        self._client.connect_async(self._host, self._port, keepalive=self._keepalive)
        self._client.loop_start()

    def stop(self) -> None:
        """Publish the gateway as offline and disconnect cleanly."""
        if self.connected:
            info = self._client.publish(self._will[0], self._will[1], qos=1, retain=True)
            info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()
        # paho keeps a loopback socket pair for waking its loop and closes it only when the
        # client is garbage-collected; close it now so a stopped gateway holds no sockets.
        self._client._reset_sockets()

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge a message to the broker (no-op for QoS 0)."""
        if qos > 0:
            self._client.ack(mid, qos)

    def publish(
        self, topic: str, payload: bytes, *, retain: bool = False, timeout_s: float = 10.0
    ) -> bool:
        """Publish at QoS 1 and wait for the broker's PUBACK.

        Returns False when not connected or when no acknowledgement came in time.
        """
        if not self.connected:
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        try:
            info.wait_for_publish(timeout=timeout_s)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            logger.error("MQTT broker refused the connection: %s", reason)
            return
        client.subscribe([(topic, 1) for topic in self._subscriptions])
        client.publish(self._online[0], self._online[1], qos=1, retain=True)
        logger.info("connected to MQTT broker %s:%s", self._host, self._port)

    def _on_subscribe(
        self, _c: paho.Client, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            logger.error("MQTT broker refused the subscriptions: %s (check the ACL)", failed)
            return
        # Only now does the broker deliver (and, for this persistent session, keep) messages.
        self.connected = True

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        self.connected = False
        logger.warning("disconnected from MQTT broker: %s", reason)

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        # Nothing raised here may reach paho's loop: the pipeline only queues the message.
        try:
            self._deliver(
                MqttMessage(
                    msg.topic,
                    bytes(msg.payload),
                    msg.mid,
                    msg.qos,
                    msg.retain,
                    int(time.time() * 1000),
                )
            )
        except Exception:
            logger.exception("could not queue a message from %s", msg.topic)
