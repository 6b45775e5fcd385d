"""Prometheus metrics of one gateway (a registry per gateway, so tests stay apart)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class EdgeMetrics:
    """The gateway's counters, gauges and histograms."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "smartoffice_edge_messages_in", "MQTT messages received", registry=r
        )
        self.invalid = Counter(
            "smartoffice_edge_invalid", "Messages quarantined, by reason", ["reason"], registry=r
        )
        self.duplicates = Counter(
            "smartoffice_edge_duplicates", "Messages already seen (device, boot, seq)", registry=r
        )
        self.enqueued = Counter(
            "smartoffice_edge_enqueued", "Readings put in the outbox", registry=r
        )
        self.gaps = Gauge(
            "smartoffice_edge_sequence_gaps", "Messages missing from devices' sequences", registry=r
        )
        self.outbox_depth = Gauge(
            "smartoffice_edge_outbox_depth", "Readings waiting to be sent", registry=r
        )
        self.uplink_seconds = Histogram(
            "smartoffice_edge_uplink_seconds",
            "Time for the server to take one batch",
            registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.uplink_failures = Counter(
            "smartoffice_edge_uplink_failures",
            "Batches the server did not take",
            ["kind"],
            registry=r,
        )
        self.outbox_oldest_age = Gauge(
            "smartoffice_edge_outbox_oldest_age_seconds",
            "Age of the oldest reading waiting to be sent (0 when none waits)",
            registry=r,
        )
        self.dead_letters = Gauge(
            "smartoffice_edge_dead_letters",
            "Readings the server refused, set aside in the quarantine",
            registry=r,
        )
        self.uplink_failing = Gauge(
            "smartoffice_edge_uplink_failing_seconds",
            "How long sending to the server has been failing (0 while it works)",
            registry=r,
        )
        self.sent = Counter("smartoffice_edge_sent", "Readings the server took", registry=r)
        self.last_success = Gauge(
            "smartoffice_edge_uplink_last_success_timestamp_seconds",
            "When the server last took a batch",
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "smartoffice_edge_mqtt_connected", "1 while connected to the broker", registry=r
        )
        self.registry_devices = Gauge(
            "smartoffice_edge_registry_devices", "Devices in the registry snapshot", registry=r
        )
