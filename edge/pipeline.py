"""From MQTT message to outbox row: parse, validate, de-duplicate, map to a space, commit, ack.

Messages are handled in slices: every message of a slice is validated, the slice is
committed in one transaction, and only then is each message acknowledged to the broker,
in the order it arrived. A crash before the commit loses nothing (the broker re-sends);
a crash after the commit but before the ack re-sends messages the seen-table recognises.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from contracts.batch import status_reading, uplink_reading
from contracts.exceptions import ContractError, TopicError
from contracts.payloads import Uplink, parse_status, parse_uplink
from contracts.registry import SpaceRef
from contracts.topics import Topics
from edge.metrics import EdgeMetrics
from edge.mqtt import MqttMessage
from edge.outbox import Outbox, Transaction
from edge.registry import RegistryCache

logger = logging.getLogger(__name__)
SLICE_MAX = 2_000
# Received but uncommitted messages held in memory at most (about 1 KiB each at worst).
MAX_PENDING = 20_000
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
        self._queue: queue.SimpleQueue[MqttMessage | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="edge-pipeline", daemon=True)
        self._stopping = False

    @property
    def pending(self) -> int:
        """Messages received but not yet committed (unacknowledged at the broker)."""
        return self._queue.qsize()

    def submit(self, msg: MqttMessage) -> None:
        """Called on paho's thread: queue the message.

        While too many are waiting, hold that thread, so the broker keeps the backlog.
        """
        self._queue.put(msg)
        if self._queue.qsize() > MAX_PENDING:
            # Mosquitto does not hold strictly to its in-flight window for a fast subscriber,
            # so the gateway bounds its own memory: while paho's thread waits here it reads
            # nothing from the socket, and TCP flow control stops the broker.
            while self._queue.qsize() > MAX_PENDING // 2 and not self._stopping:
                time.sleep(0.01)

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

    def handle(self, batch: list[MqttMessage]) -> None:
        """Validate a slice, commit it in one transaction, then acknowledge it."""
        checked = [self._check(msg) for msg in batch]
        with self._outbox.transaction() as tx:
            uplinks = [c for c in checked if isinstance(c, _Uplink)]
            fresh = iter(
                tx.claim(
                    [
                        (c.device, c.up.boot, c.up.bid or 0, c.up.seq, c.msg.received_ms)
                        for c in uplinks
                    ]
                )
            )
            bodies = []
            for c in checked:
                if isinstance(c, _Refused):
                    self._refuse(tx, c)
                elif isinstance(c, _Status):
                    if tx.status_changed(c.device, c.text):
                        bodies.append(c.body)
                elif next(fresh):
                    bodies.append(c.body())
                else:
                    self._metrics.duplicates.inc()
            tx.enqueue(bodies)
        for msg in batch:
            self._ack(msg.mid, msg.qos)
        self._metrics.messages_in.inc(len(batch))
        self._metrics.enqueued.inc(len(bodies))
        self._metrics.outbox_depth.set(self._outbox.depth)
        self._on_enqueued()

    def _check(self, msg: MqttMessage) -> _Refused | _Status | _Uplink:
        """Everything about one message that needs no database."""
        try:
            parsed = self._topics.parse(msg.topic)
            device = parsed.device_id
            assert device is not None  # the gateway subscribes to device topics only
            entry = self._registry.get(device)
            if entry is None:
                return _Refused(
                    msg, "unknown_device", f"device {device!r} is not registered to this gateway"
                )
            space = entry.space
            if parsed.kind == "status":
                status = parse_status(msg.payload)
                body = status_reading(device, status, received_ms=msg.received_ms, space=space)
                return _Status(device, status.model_dump_json(exclude={"v"}), body)
            assert parsed.stream is not None
            up = parse_uplink(parsed.stream, msg.payload)
            return _Uplink(msg, device, parsed.stream, up, space)
        except ContractError as exc:
            return _Refused(msg, "topic" if isinstance(exc, TopicError) else "payload", exc.reason)

    def _refuse(self, tx: Transaction, r: _Refused) -> None:
        logger.warning(
            "quarantined %s from %s: %s (payload %r)",
            r.kind,
            r.msg.topic,
            r.reason,
            r.msg.payload[:80],
        )
        self._metrics.invalid.labels(r.kind).inc()
        tx.quarantine(r.msg.received_ms, r.msg.topic, r.msg.payload, r.reason)


@dataclass(frozen=True, slots=True)
class _Refused:
    msg: MqttMessage
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Status:
    device: str
    text: str
    body: bytes


@dataclass(frozen=True, slots=True)
class _Uplink:
    msg: MqttMessage
    device: str
    stream: str
    up: Uplink
    space: SpaceRef | None

    def body(self) -> bytes:
        """The outbox row: the reading as the ingest batch carries it."""
        return uplink_reading(
            self.device, self.stream, self.up, received_ms=self.msg.received_ms, space=self.space
        )
