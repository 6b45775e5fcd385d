"""Turn an ingest batch into stored readings, exactly once per (device, boot, seq).

The keys of a batch's new readings are inserted into ``ingest_seen`` inside a transaction
that commits only after the reading store has the readings. If the server dies between
the two, the gateway re-sends, the keys are new again, and the store's own idempotence
(same point, same time: InfluxDB overwrites, SQLite ignores) keeps one copy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from contracts.batch import IngestBatch, IngestResult, Reading, Rejection
from contracts.payloads import ENVELOPE_FIELDS, UPLINK_MODELS, DeviceStatus, describe
from server.db import Database, insert_unless_present
from server.exceptions import DatabaseError, StoreError
from server.ingest.models import SeenReading
from server.metrics import ServerMetrics
from server.readings.store import ReadingStore, StoredReading
from server.registry.downlink import record_acks
from server.registry.models import Device, Gateway

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Valid:
    index: int
    reading: Reading
    stored: StoredReading


def _validate(index: int, raw: Any) -> _Valid | Rejection:
    device = raw.get("device") if isinstance(raw, dict) else None
    try:
        r = Reading.model_validate(raw)
        if ENVELOPE_FIELDS & r.data.keys():
            return Rejection(
                index=index, device=r.device, reason="data must not repeat v, boot, seq or ts"
            )
        if r.stream == "status":
            status = DeviceStatus.model_validate({"v": 1, "boot": r.boot, **r.data})
            fields: dict[str, Any] = status.model_dump(exclude={"v"})
        else:
            if r.seq is None:
                return Rejection(index=index, device=r.device, reason="seq: required")
            model = UPLINK_MODELS[r.stream].model_validate(
                {"v": 1, "boot": r.boot, "seq": r.seq, "ts": r.ts, **r.data}
            )
            fields = model.model_dump(exclude={"v", "ts"}, exclude_none=True)
    except ValidationError as exc:
        return Rejection(
            index=index, device=device if isinstance(device, str) else None, reason=describe(exc)
        )
    fields["ts_gateway"] = r.ts_source == "gateway"
    return _Valid(index, r, StoredReading(r.stream, r.ts, r.device, r.space, fields))


class IngestService:
    """Validates, de-duplicates and stores gateways' batches."""

    def __init__(
        self,
        *,
        db: Database,
        store: ReadingStore,
        metrics: ServerMetrics,
        dedup_window_days: int = 14,
        on_stored: Callable[[list[StoredReading]], Awaitable[None]] | None = None,
    ) -> None:
        self.on_stored = on_stored
        self.db = db
        self.store = store
        self.metrics = metrics
        self.dedup_window_ms = dedup_window_days * 86_400_000
        self._lock = asyncio.Lock()
        self._last_prune = 0.0

    async def ingest(self, *, gateway_id: str, batch: IngestBatch) -> IngestResult:
        """Store a batch; raises StoreError or DatabaseError (nothing committed) on failure."""
        started = time.monotonic()
        valid: list[_Valid] = []
        rejections: list[Rejection] = []
        for i, raw in enumerate(batch.readings):
            checked = _validate(i, raw)
            (valid if isinstance(checked, _Valid) else rejections).append(checked)  # type: ignore[arg-type]
        for rej in rejections:
            logger.warning(
                "gateway %s batch %s reading %d rejected: %s",
                gateway_id,
                batch.batch_id,
                rej.index,
                rej.reason,
            )
        async with self._lock:
            fresh, duplicates = await self._store(gateway_id, valid)
        if self.on_stored is not None and fresh:
            try:
                await self.on_stored([v.stored for v in fresh])
            except Exception:
                # The readings are stored; what reacts to them must not make the gateway resend.
                logger.exception("reacting to batch %s failed", batch.batch_id)
        now_ms = time.time() * 1000
        for v in fresh:
            self.metrics.lag_seconds.observe(max(0.0, now_ms - v.reading.received) / 1000)
        self.metrics.readings.labels("accepted").inc(len(fresh))
        self.metrics.readings.labels("duplicate").inc(duplicates)
        self.metrics.readings.labels("rejected").inc(len(rejections))
        self.metrics.batches.labels("stored").inc()
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        self.metrics.last_ingest.set_to_current_time()
        return IngestResult(
            batch_id=batch.batch_id,
            accepted=len(fresh),
            duplicates=duplicates,
            rejected=len(rejections),
            rejections=rejections,
        )

    async def _store(self, gateway_id: str, valid: list[_Valid]) -> tuple[list[_Valid], int]:
        try:
            conn = await asyncio.to_thread(self.db.engine.connect)
            try:
                fresh = await asyncio.to_thread(self._claim, conn, valid)
                try:
                    await self.store.write([v.stored for v in fresh])
                except StoreError:
                    self.metrics.store_errors.inc()
                    self.metrics.batches.labels("store_error").inc()
                    await asyncio.to_thread(conn.rollback)
                    raise
                await asyncio.to_thread(self._record, conn, gateway_id, fresh)
            finally:
                await asyncio.to_thread(conn.close)
        except SQLAlchemyError as exc:
            self.metrics.batches.labels("database_error").inc()
            raise DatabaseError(f"database: {exc.__class__.__name__}: {exc}"[:300]) from exc
        return fresh, len(valid) - len(fresh)

    def _claim(self, conn: Connection, valid: list[_Valid]) -> list[_Valid]:
        """Insert the keys of new readings; returns the readings whose keys were new."""
        now_ms = int(time.time() * 1000)
        by_key: dict[tuple[str, int, int], _Valid] = {}
        status: list[_Valid] = []
        for v in valid:
            r = v.reading
            if r.seq is None:
                status.append(v)
            else:
                by_key.setdefault((r.device, r.boot, r.seq), v)
        if not by_key:
            return status
        stmt = insert_unless_present(conn, SeenReading).returning(
            SeenReading.device, SeenReading.boot, SeenReading.seq
        )
        rows = [{"device": d, "boot": b, "seq": s, "stored_ms": now_ms} for d, b, s in by_key]
        new_keys = {tuple(row) for row in conn.execute(stmt, rows)}
        fresh = [v for k, v in by_key.items() if k in new_keys]
        fresh.sort(key=lambda v: v.index)
        return status + fresh

    def _record(self, conn: Connection, gateway_id: str, fresh: Sequence[_Valid]) -> None:
        """Note what was heard of each device, then commit the claimed keys."""
        now_ms = int(time.time() * 1000)
        by_device: dict[str, list[Reading]] = {}
        acks = []
        for v in fresh:
            r = v.reading
            by_device.setdefault(r.device, []).append(r)
            if r.stream == "ack":
                acks.append((r.device, r.data["cmd_id"], r.data["ok"], r.data.get("error"), r.ts))
        if by_device:
            rows = conn.execute(
                select(
                    Device.id,
                    Device.seq_boot,
                    Device.last_seq,
                    Device.gaps,
                    Device.last_seen_ms,
                    Device.last_reading_ms,
                ).where(Device.id.in_(list(by_device)))
            ).all()
            for device_id, seq_boot, last_seq, gaps, last_seen, last_reading in rows:
                values = _heard(by_device[device_id], seq_boot, last_seq, gaps)
                values["last_seen_ms"] = max(values["last_seen_ms"], last_seen or 0)
                if "last_reading_ms" in values:
                    values["last_reading_ms"] = max(values["last_reading_ms"], last_reading or 0)
                conn.execute(update(Device).where(Device.id == device_id).values(**values))
                status = [r for r in by_device[device_id] if r.stream == "status"]
                if status:
                    r = max(status, key=lambda s: s.ts)
                    conn.execute(
                        update(Device)
                        .where(Device.id == device_id)
                        .where((Device.status_ms.is_(None)) | (Device.status_ms <= r.ts))
                        .values(
                            online=r.data["state"] == "online",
                            status_ms=r.ts,
                            fw=r.data["fw"],
                            boot=r.boot,
                        )
                    )
        record_acks(conn, acks)
        conn.execute(update(Gateway).where(Gateway.id == gateway_id).values(last_ingest_ms=now_ms))
        if time.monotonic() - self._last_prune > 3600:
            conn.execute(
                delete(SeenReading).where(SeenReading.stored_ms < now_ms - self.dedup_window_ms)
            )
            self._last_prune = time.monotonic()
        conn.commit()


def _heard(
    readings: list[Reading], seq_boot: int | None, last_seq: int | None, gaps: int
) -> dict[str, Any]:
    """A device's new last-seen time, health from its newest heartbeat, and gap count.

    A gap is a sequence number skipped within one boot; a reading that arrives late fills
    one again. Readings of an older boot than the newest seen count for nothing.
    """
    values: dict[str, Any] = {"last_seen_ms": max(r.received for r in readings)}
    received = [r.received for r in readings if r.seq is not None]
    if received:
        values["last_reading_ms"] = max(received)
    for r in sorted((r for r in readings if r.seq is not None), key=lambda r: (r.boot, r.seq)):
        seq = r.seq
        assert seq is not None
        if seq_boot is None or last_seq is None or r.boot > seq_boot:
            seq_boot, last_seq = r.boot, seq
        elif r.boot == seq_boot:
            if seq > last_seq:
                gaps += seq - last_seq - 1
                last_seq = seq
            elif gaps > 0:
                gaps -= 1
    values.update(seq_boot=seq_boot, last_seq=last_seq, gaps=gaps)
    beats = [r for r in readings if r.stream == "heartbeat"]
    if beats:
        beat = max(beats, key=lambda r: (r.boot, r.seq or 0)).data
        values.update(
            rssi_dbm=beat["rssi_dbm"],
            heap_free=beat["heap_free"],
            uptime_s=beat["uptime_s"],
            fw=beat["fw"],
            sensor_errors=beat.get("sensor_errors"),
            last_error=beat.get("last_error"),
        )
    return values
