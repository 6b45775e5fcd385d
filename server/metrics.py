"""Prometheus metrics of one server instance (a registry per app, so tests stay apart)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServerMetrics:
    """The server's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.readings = Counter(
            "smartoffice_ingest_readings",
            "Readings received by result",
            ["result"],
            registry=self.registry,
        )
        self.batches = Counter(
            "smartoffice_ingest_batches",
            "Ingest batches by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.quarantined = Counter(
            "smartoffice_ingest_quarantined",
            "Readings not stored, kept in quarantine, by kind (invalid, foreign, store)",
            ["kind"],
            registry=self.registry,
        )
        self.gateway_oldest_unsent = Gauge(
            "smartoffice_gateway_oldest_unsent_age_seconds",
            "Age of the oldest reading a gateway holds unsent (0: none), as it last reported",
            ["gateway"],
            registry=self.registry,
        )
        self.gateway_outbox_depth = Gauge(
            "smartoffice_gateway_outbox_depth",
            "Readings a gateway holds unsent, as it last reported",
            ["gateway"],
            registry=self.registry,
        )
        self.gateway_dead_letters = Gauge(
            "smartoffice_gateway_dead_letters",
            "Readings a gateway has set aside as refused, as it last reported",
            ["gateway"],
            registry=self.registry,
        )
        self.gateway_last_contact = Gauge(
            "smartoffice_gateway_last_contact_timestamp_seconds",
            "When a gateway last reached the server (a batch or its report)",
            ["gateway"],
            registry=self.registry,
        )
        self.store_up = Gauge(
            "smartoffice_store_up",
            "1 when the store answered at this scrape, else 0 (database, readings)",
            ["store"],
            registry=self.registry,
        )
        self.backup_newest = Gauge(
            "smartoffice_backup_newest_timestamp_seconds",
            "When the newest archive in the backup directory was made (0: none there)",
            registry=self.registry,
        )
        self.disk_free_ratio = Gauge(
            "smartoffice_disk_free_ratio",
            "Free share of the file system holding the data directory or the backups",
            ["path"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "smartoffice_ingest_batch_seconds",
            "Time to handle one ingest batch",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.store_errors = Counter(
            "smartoffice_store_errors", "Reading store failures", registry=self.registry
        )
        self.lag_seconds = Histogram(
            "smartoffice_ingest_lag_seconds",
            "From gateway receipt to stored",
            registry=self.registry,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
        )
        self.jobs_runner = Gauge(
            "smartoffice_jobs_runner",
            "1 while this replica runs the periodic jobs (sweep, rollups, zones), else 0",
            registry=self.registry,
        )
        self.last_ingest = Gauge(
            "smartoffice_ingest_last_success_timestamp_seconds",
            "Last stored batch",
            registry=self.registry,
        )
        self.rollup_done_until = Gauge(
            "smartoffice_rollup_done_until_timestamp_seconds",
            "Hourly rollups are complete before this time, per building",
            ["building"],
            registry=self.registry,
        )
        self.zone_changes = Counter(
            "smartoffice_zone_mode_changes",
            "Zone HVAC/lighting mode changes decided, by channel and new mode",
            ["channel", "mode"],
            registry=self.registry,
        )
        self.comfort_alerts_open = Gauge(
            "smartoffice_comfort_alerts_open",
            "Rooms with an open CO2 alert, per building",
            ["building"],
            registry=self.registry,
        )
