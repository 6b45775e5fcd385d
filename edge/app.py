"""The gateway: wires MQTT, pipeline, outbox, registry and uplink together."""

from __future__ import annotations

import json
import logging
import signal
import ssl
import threading
import time
from typing import Any

import httpx

from contracts.payloads import GatewayStatus
from contracts.topics import Topics
from edge.broker import BrokerFiles
from edge.config import EdgeSettings
from edge.downlink import DownlinkPoller
from edge.health import HealthServer
from edge.metrics import EdgeMetrics
from edge.mqtt import MqttLink
from edge.outbox import Outbox
from edge.pipeline import Pipeline
from edge.registry import RegistryCache
from edge.uplink import OutboxSender

logger = logging.getLogger(__name__)
VERSION = "0.1.0"
PRUNE_EVERY_S = 600.0


class Gateway:
    """One building's gateway; ``start()`` then ``stop()``, or ``run()`` until a signal."""

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.topics = Topics(settings.base_topic)
        self.metrics = EdgeMetrics()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(settings.data_dir / "outbox.db", sync=settings.outbox_sync)
        verify: ssl.SSLContext | bool = True
        if settings.server_ca_file:
            verify = ssl.create_default_context(cafile=str(settings.server_ca_file))
        self.http = httpx.Client(
            base_url=settings.server_url,
            headers={"Authorization": f"Bearer {settings.gateway_token.get_secret_value()}"},
            timeout=settings.uplink_timeout_s,
            verify=verify,
            event_hooks={"request": [self._report_backlog]},
        )
        self.broker_files: BrokerFiles | None = None
        if settings.broker_passwd_file and settings.broker_acl_file and settings.mqtt_password:
            self.broker_files = BrokerFiles(
                passwd_path=settings.broker_passwd_file,
                acl_path=settings.broker_acl_file,
                topics=self.topics,
                gateway_username=settings.mqtt_login or settings.gateway_id,
                gateway_password=settings.mqtt_password.get_secret_value(),
                reload_pid_file=settings.broker_reload_pid_file,
                reload_command=settings.broker_reload_command,
                bms=(
                    (settings.bms_username, settings.bms_password_hash)
                    if settings.bms_username and settings.bms_password_hash
                    else None
                ),
            )
        self.registry = RegistryCache(
            http=self.http,
            path=settings.data_dir / "registry.json",
            refresh_s=settings.registry_refresh_s,
            on_change=self.broker_files.apply if self.broker_files else None,
        )
        self.uplink = OutboxSender(
            outbox=self.outbox,
            http=self.http,
            gateway_id=settings.gateway_id,
            metrics=self.metrics,
            batch_size=settings.batch_size,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
        )
        status_topic = self.topics.gateway_status(settings.gateway_id)
        self.mqtt = MqttLink(
            client_id=settings.gateway_id,
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            username=settings.mqtt_login,
            password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
            tls=settings.mqtt_tls,
            ca_file=settings.mqtt_ca_file,
            keepalive_s=settings.mqtt_keepalive_s,
            subscriptions=[self.topics.uplink_filter, self.topics.status_filter],
            on_message=lambda msg: self.pipeline.submit(msg),
            will=(status_topic, _status("offline")),
            online=(status_topic, _status("online")),
        )
        self.pipeline = Pipeline(
            topics=self.topics,
            outbox=self.outbox,
            registry=self.registry,
            metrics=self.metrics,
            ack=self.mqtt.ack,
            outbox_max=settings.outbox_max_readings,
            on_enqueued=self.uplink.notify,
        )
        self.downlink = DownlinkPoller(
            http=self.http,
            topics=self.topics,
            publish=lambda topic, payload, retain: self.mqtt.publish(topic, payload, retain=retain),
            registry_version=lambda: self.registry.version,
            registry_stale=self.registry.refresh_soon,
            wait_s=settings.downlink_wait_s,
        )
        self.http_server = HealthServer(
            host=settings.http_host,
            port=settings.http_port,
            health=self.health,
            registry=self.metrics.registry,
            before_metrics=self._refresh_gauges,
        )
        self._stop = threading.Event()

    def start(self) -> None:
        """Start every part; the registry is pulled before MQTT traffic is taken."""
        if not self.registry.refresh() and self.registry.version is None:
            logger.warning(
                "no registry yet (server away, no cache): messages from every "
                "device are quarantined until the first snapshot arrives"
            )
        self.registry.start()
        self.http_server.start()
        self.pipeline.start()
        self.uplink.start()
        self.mqtt.start()
        self.downlink.start()
        logger.info(
            "gateway %s started; health on :%d", self.settings.gateway_id, self.http_server.port
        )

    def stop(self) -> None:
        """Stop taking messages first, then the senders, then close the outbox."""
        self.downlink.stop()
        self.mqtt.stop()
        self.pipeline.stop()
        self.uplink.stop()
        self.registry.stop()
        self.http_server.stop()
        self.http.close()
        self.outbox.close()
        logger.info("gateway %s stopped", self.settings.gateway_id)

    def run(self) -> None:
        """Run until SIGINT or SIGTERM, pruning old keys now and then."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        self.start()
        try:
            while not self._stop.wait(PRUNE_EVERY_S):
                self.prune()
        finally:
            self.stop()

    def prune(self) -> None:
        """Forget de-duplication keys older than the window."""
        self.outbox.prune(seen_before_ms=int((time.time() - self.settings.dedup_window_s) * 1000))

    def _report_backlog(self, request: httpx.Request) -> None:
        """Tell the server, on every request, how much this gateway holds unsent.

        So a building whose readings are stuck shows on the server even while its gateway
        still polls it.
        """
        oldest = self.outbox.oldest_received_ms()
        age_ms = max(0, int(time.time() * 1000) - oldest) if oldest else None
        request.headers["X-Outbox-Depth"] = str(self.outbox.depth)
        if age_ms is not None:
            request.headers["X-Outbox-Oldest-Age-Ms"] = str(age_ms)
        request.headers["X-Dead-Letters"] = str(self.outbox.dead_letters)

    def _ages_s(self) -> tuple[float, float]:
        """Age of the oldest unsent reading, and how long sending has failed, in seconds."""
        now = time.time() * 1000
        oldest = self.outbox.oldest_received_ms()
        failing = self.uplink.failing_since_ms
        return (
            max(0.0, (now - oldest) / 1000) if oldest else 0.0,
            max(0.0, (now - failing) / 1000) if failing else 0.0,
        )

    def _refresh_gauges(self) -> None:
        oldest_s, failing_s = self._ages_s()
        self.metrics.outbox_oldest_age.set(oldest_s)
        self.metrics.uplink_failing.set(failing_s)
        self.metrics.dead_letters.set(self.outbox.dead_letters)
        self.metrics.outbox_depth.set(self.outbox.depth)
        self.metrics.gaps.set(sum(s.gaps for s in list(self.outbox.devices.values())))
        self.metrics.mqtt_connected.set(1 if self.mqtt.connected else 0)
        self.metrics.registry_devices.set(len(self.registry))

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while connected to the broker, holding a registry, and readings flow."""
        oldest_s, failing_s = self._ages_s()
        stall = self.settings.stall_alert_s
        troubles = []
        if not self.mqtt.connected:
            troubles.append("not connected to the MQTT broker")
        if self.registry.version is None:
            troubles.append("no registry snapshot yet: every device's messages are quarantined")
        if oldest_s > stall:
            troubles.append(f"the oldest unsent reading is {oldest_s:.0f} s old")
        if failing_s > stall:
            troubles.append(
                f"sending to the server has failed for {failing_s:.0f} s: {self.uplink.last_error}"
            )
        return not troubles, {
            "status": "degraded" if troubles else "ok",
            "troubles": troubles,
            "gateway_id": self.settings.gateway_id,
            "mqtt_connected": self.mqtt.connected,
            "registry_version": self.registry.version,
            "outbox_depth": self.outbox.depth,
            "outbox_oldest_age_s": round(oldest_s, 1),
            "dead_letters": self.outbox.dead_letters,
            "received_not_committed": self.pipeline.pending,
            "uplink_last_success_ms": self.uplink.last_success_ms,
            "uplink_failing_s": round(failing_s, 1),
            "uplink_last_error": self.uplink.last_error,
        }


def _status(state: str) -> bytes:
    return json.dumps(
        GatewayStatus(v=1, state=state, version=VERSION).model_dump()  # type: ignore[arg-type]
    ).encode()
