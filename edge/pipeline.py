"""From MQTT message to outbox row: parse, validate, de-duplicate, map to a space, commit, ack.

Messages are handled in slices: every message of a slice is validated, the slice is
committed in one transaction, and only then is each message acknowledged to the broker,
in the order it arrived. A crash before the commit loses nothing (the broker re-sends);
a crash after the commit but before the ack re-sends messages the seen-table recognises.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable

from contracts.exceptions import ContractError, TopicError
from contracts.payloads import ENVELOPE_FIELDS, parse_status, parse_uplink
from contracts.topics import Topics
from edge.metrics import EdgeMetrics
from edge.mqtt import Message
from edge.outbox import Outbox, Transaction
from edge.registry import RegistryCache

logger = logging.getLogger(__name__)
SLICE_MAX = 2_000
# Waiting a little for more messages makes bigger transactions (fewer fsyncs) at high rates
# and adds at most this much latency at low ones.
SLICE_WAIT_S = 0.02


class Pipeline:
    """Consumes received messages on its own thread."""

    def __init__(
        self,
        *,
        topics: Topics,
        outbox: Outbox,
        registry: RegistryCache,
        metrics: EdgeMetrics,
        ack: Callable[[int, int], None],
        outbox_max: int,
        on_enqueued: Callable[[], None],
    ) -> None:
        self._topics = topics
        self._outbox = outbox
        self._registry = registry
        self._metrics = metrics
        self._ack = ack
        self._outbox_max = outbox_max
        self._on_enqueued = on_enqueued
        self._queue: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="edge-pipeline", daemon=True)
        self._stopping = False

    def submit(self, msg: Message) -> None:
        """Called on paho's thread: only queue the message."""
        self._queue.put(msg)

    def start(self) -> None:
        """Start consuming."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current slice; queued messages stay unacknowledged at the broker."""
        self._stopping = True
        self._queue.put(None)
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + SLICE_WAIT_S
            while len(batch) < SLICE_MAX:
                try:
                    msg = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if msg is None:
                    self._stopping = True
                    break
                batch.append(msg)
            while self._outbox.depth >= self._outbox_max and not self._stopping:
                # Back-pressure: the broker keeps the messages until the outbox drains.
                self._metrics.outbox_depth.set(self._outbox.depth)
                time.sleep(0.5)
            if self._stopping:
                return
            try:
                self.handle(batch)
            except Exception:
                # The slice was rolled back and not acknowledged: the broker re-sends it
                # when the gateway reconnects. Log and keep serving the rest.
                logger.exception("could not commit a slice of %d messages", len(batch))
                time.sleep(1)

    def handle(self, batch: list[Message]) -> None:
        """Validate and commit a slice, then acknowledge it."""
        with self._outbox.transaction() as tx:
            for msg in batch:
                self._one(tx, msg)
        for msg in batch:
            self._ack(msg.mid, msg.qos)
        self._metrics.messages_in.inc(len(batch))
        self._metrics.outbox_depth.set(self._outbox.depth)
        self._on_enqueued()

    def _one(self, tx: Transaction, msg: Message) -> None:
        try:
            parsed = self._topics.parse(msg.topic)
            device = parsed.device_id
            assert device is not None  # the gateway subscribes to device topics only
            entry = self._registry.get(device)
            if entry is None:
                self._refuse(
                    tx,
                    msg,
                    "unknown_device",
                    f"device {device!r} is not registered to this gateway",
                )
                return
            space = entry.space.model_dump() if entry.space else None
            if parsed.kind == "status":
                status = parse_status(msg.payload)
                text = status.model_dump_json(exclude={"v"})
                if not tx.status_changed(device, text):
                    return
                reading = {
                    "device": device,
                    "stream": "status",
                    "boot": status.boot,
                    "ts": msg.received_ms,
                    "ts_source": "gateway",
                    "received": msg.received_ms,
                    "space": space,
                    "data": status.model_dump(exclude={"v", "boot"}),
                }
            else:
                assert parsed.stream is not None
                up = parse_uplink(parsed.stream, msg.payload)
                if not tx.first_sight(device, up.boot, up.seq, msg.received_ms):
                    self._metrics.duplicates.inc()
                    return
                reading = {
                    "device": device,
                    "stream": parsed.stream,
                    "boot": up.boot,
                    "seq": up.seq,
                    "ts": up.ts if up.ts is not None else msg.received_ms,
                    "ts_source": "device" if up.ts is not None else "gateway",
                    "received": msg.received_ms,
                    "space": space,
                    "data": up.model_dump(exclude=set(ENVELOPE_FIELDS), exclude_none=True),
                }
        except ContractError as exc:
            kind = "topic" if isinstance(exc, TopicError) else "payload"
            self._refuse(tx, msg, kind, exc.reason)
            return
        tx.enqueue(json.dumps(reading, separators=(",", ":")).encode())
        self._metrics.enqueued.inc()

    def _refuse(self, tx: Transaction, msg: Message, kind: str, reason: str) -> None:
        logger.warning(
            "quarantined %s from %s: %s (payload %r)", kind, msg.topic, reason, msg.payload[:80]
        )
        self._metrics.invalid.labels(kind).inc()
        tx.quarantine(msg.received_ms, msg.topic, msg.payload, reason)
