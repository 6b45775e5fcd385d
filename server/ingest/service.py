"""Turn an ingest batch into stored readings, once per (device, boot, bid, seq).

The keys of a batch's new readings are inserted into ``ingest_seen`` inside a transaction
that commits only after the reading store has the readings. If the server dies between
the two, the gateway re-sends, the keys are new again, and the store's own idempotence
(same point, same time: InfluxDB overwrites, SQLite ignores) keeps one copy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from contracts import boots
from contracts.batch import (
    READING,
    AckReading,
    HeartbeatReading,
    IngestBatch,
    IngestResult,
    Reading,
    Rejection,
    StatusReading,
)
from contracts.payloads import describe
from contracts.registry import SpaceRef
from server.clock import now_ms as clock_ms
from server.db import Database, insert_unless_present
from server.exceptions import DatabaseError, StoreError
from server.ingest.models import QuarantinedReading, SeenReading
from server.ingest.schemas import QuarantinedPublic
from server.metrics import ServerMetrics
from server.readings.store import FieldValue, ReadingStore, StoredReading
from server.registry.downlink import record_acks
from server.registry.models import SPACE_COLUMNS, Device, Gateway, device_space

logger = logging.getLogger(__name__)
# The quarantine keeps the newest readings refused; reasons and readings are cut short so
# that no gateway can fill the database through it.
QUARANTINE_KEEP = 100_000
REASON_MAX = 500
READING_MAX = 4096


@dataclass(frozen=True, slots=True)
class _Valid:
    index: int
    reading: Reading
    fields: dict[str, FieldValue]

    def stored(self, space: SpaceRef | None) -> StoredReading:
        r = self.reading
        return StoredReading(r.stream, r.ts, r.device, space, self.fields)


def validate(index: int, raw: Any) -> _Valid | Rejection:
    """One reading of a batch, checked once against the contract: valid, or why not."""
    if not isinstance(raw, dict):
        return Rejection(index=index, device=None, reason="a reading must be a JSON object")
    device = raw.get("device")
    device = device if isinstance(device, str) else None
    if "stream" not in raw:
        return Rejection(index=index, device=device, reason="stream: Field required")
    try:
        r = READING.validate_python(raw)
    except ValidationError as exc:
        return Rejection(index=index, device=device, reason=describe(exc))
    fields: dict[str, Any] = {"boot": r.boot}
    if r.bid:  # 0 in the batch: the node sent none
        fields["bid"] = r.bid
    if r.seq is not None:
        fields["seq"] = r.seq
    fields.update(r.data.model_dump(exclude_none=True))
    fields["ts_gateway"] = r.ts_source == "gateway"
    return _Valid(index, r, fields)


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
        """Store a batch; every reading is stored, a duplicate, or refused with its reason.

        Refused readings (against the contract, of a device that is not this gateway's, or
        refused by the reading store) are kept in the quarantine and do not hold up the
        rest. Raises StoreError or DatabaseError when the stores fail as a whole: then no
        key was committed, and a re-sent batch is stored once.
        """
        started = time.monotonic()
        valid: list[_Valid] = []
        rejections: list[Rejection] = []
        for i, raw in enumerate(batch.readings):
            checked = validate(i, raw)
            if isinstance(checked, _Valid):
                valid.append(checked)
            else:
                rejections.append(checked)
        async with self._lock:
            fresh, stored, duplicates = await self._store(gateway_id, batch, valid, rejections)
        rejections.sort(key=lambda r: r.index)
        for rej in rejections:
            logger.warning(
                "gateway %s batch %s reading %d (%s) quarantined: %s",
                gateway_id,
                batch.batch_id,
                rej.index,
                rej.kind,
                rej.reason,
            )
            self.metrics.quarantined.labels(rej.kind).inc()
        if self.on_stored is not None and stored:
            try:
                await self.on_stored(stored)
            except Exception:
                # The readings are stored; what reacts to them must not make the gateway resend.
                logger.exception("reacting to batch %s failed", batch.batch_id)
        now_ms = clock_ms()
        for v in fresh:
            self.metrics.lag_seconds.observe(max(0.0, now_ms - v.reading.received) / 1000)
        self.metrics.readings.labels("accepted").inc(len(stored))
        self.metrics.readings.labels("duplicate").inc(duplicates)
        self.metrics.readings.labels("rejected").inc(len(rejections))
        self.metrics.batches.labels("stored").inc()
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        self.metrics.last_ingest.set_to_current_time()
        return IngestResult(
            batch_id=batch.batch_id,
            accepted=len(stored),
            duplicates=duplicates,
            rejected=len(rejections),
            rejections=rejections,
        )

    async def _store(
        self,
        gateway_id: str,
        batch: IngestBatch,
        valid: list[_Valid],
        rejections: list[Rejection],
    ) -> tuple[list[_Valid], list[StoredReading], int]:
        """Claim, write and record; adds foreign and store-refused readings to rejections."""
        try:
            conn = await run_in_threadpool(self.db.engine.connect)
            try:
                places = await run_in_threadpool(
                    _places, conn, gateway_id, {v.reading.device for v in valid}
                )
                owned = []
                for v in valid:
                    if v.reading.device in places:
                        owned.append(v)
                    else:
                        rejections.append(_foreign(v, gateway_id))
                fresh = await run_in_threadpool(self._claim, conn, owned)
                readings = [v.stored(places[v.reading.device]) for v in fresh]
                try:
                    refused = await self.store.write(readings)
                except StoreError:
                    self.metrics.store_errors.inc()
                    self.metrics.batches.labels("store_error").inc()
                    await run_in_threadpool(conn.rollback)
                    raise
                gone = {r.index for r in refused}
                rejections.extend(
                    Rejection(
                        index=fresh[r.index].index,
                        device=fresh[r.index].reading.device,
                        kind="store",
                        reason=r.reason,
                    )
                    for r in refused
                )
                fresh = [v for i, v in enumerate(fresh) if i not in gone]
                readings = [r for i, r in enumerate(readings) if i not in gone]
                await run_in_threadpool(
                    self._record, conn, gateway_id, fresh, _quarantine(batch, rejections)
                )
            finally:
                await run_in_threadpool(conn.close)
        except SQLAlchemyError as exc:
            self.metrics.batches.labels("database_error").inc()
            raise DatabaseError(f"database: {exc.__class__.__name__}: {exc}"[:300]) from exc
        # Store-refused readings keep their claimed keys: a re-send is a duplicate, and the
        # reading itself waits in the quarantine.
        return (
            fresh,
            readings,
            len(valid) - len(fresh) - sum(r.kind != "invalid" for r in rejections),
        )

    def _claim(self, conn: Connection, valid: list[_Valid]) -> list[_Valid]:
        """Insert the keys of new readings; returns the readings whose keys were new."""
        now_ms = clock_ms()
        by_key: dict[tuple[str, int, int, int], _Valid] = {}
        status: list[_Valid] = []
        for v in valid:
            r = v.reading
            if r.seq is None:
                status.append(v)
            else:
                by_key.setdefault((r.device, r.boot, r.bid, r.seq), v)
        if not by_key:
            return status
        stmt = insert_unless_present(conn, SeenReading).returning(
            SeenReading.device, SeenReading.boot, SeenReading.bid, SeenReading.seq
        )
        rows = [
            {"device": d, "boot": b, "bid": i, "seq": s, "stored_ms": now_ms}
            for d, b, i, s in by_key
        ]
        new_keys = {tuple(row) for row in conn.execute(stmt, rows)}
        fresh = [v for k, v in by_key.items() if k in new_keys]
        fresh.sort(key=lambda v: v.index)
        return status + fresh

    def _record(
        self,
        conn: Connection,
        gateway_id: str,
        fresh: Sequence[_Valid],
        quarantine: list[dict[str, Any]],
    ) -> None:
        """Note what was heard of each device and what was refused; commit the claimed keys."""
        now_ms = clock_ms()
        by_device: dict[str, list[Reading]] = {}
        acks = []
        for v in fresh:
            r = v.reading
            by_device.setdefault(r.device, []).append(r)
            if isinstance(r, AckReading):
                acks.append((r.device, r.data.cmd_id, r.data.ok, r.data.error, r.ts))
        if by_device:
            rows = conn.execute(
                select(
                    Device.id,
                    Device.seq_boot,
                    Device.seq_bid,
                    Device.last_seq,
                    Device.gaps,
                    Device.past_bids,
                    Device.last_seen_ms,
                    Device.last_reading_ms,
                ).where(Device.id.in_(list(by_device)))
            ).all()
            for device_id, boot, bid, seq, gaps, past, last_seen, last_reading in rows:
                counted = _Counted(boot, bid, seq, gaps, past)
                values = _heard(by_device[device_id], counted)
                values["last_seen_ms"] = max(values["last_seen_ms"], last_seen or 0)
                if "last_reading_ms" in values:
                    values["last_reading_ms"] = max(values["last_reading_ms"], last_reading or 0)
                conn.execute(update(Device).where(Device.id == device_id).values(**values))
                status = [r for r in by_device[device_id] if isinstance(r, StatusReading)]
                if status:
                    last = max(status, key=lambda s: s.ts)
                    conn.execute(
                        update(Device)
                        .where(Device.id == device_id)
                        .where((Device.status_ms.is_(None)) | (Device.status_ms <= last.ts))
                        .values(
                            online=last.data.state == "online",
                            status_ms=last.ts,
                            fw=last.data.fw,
                            boot=last.boot,
                        )
                    )
        record_acks(conn, acks)
        if quarantine:
            conn.execute(insert(QuarantinedReading), quarantine)
        conn.execute(update(Gateway).where(Gateway.id == gateway_id).values(last_ingest_ms=now_ms))
        if time.monotonic() - self._last_prune > 3600:
            conn.execute(
                delete(SeenReading).where(SeenReading.stored_ms < now_ms - self.dedup_window_ms)
            )
            newest = conn.execute(select(func.max(QuarantinedReading.id))).scalar() or 0
            conn.execute(
                delete(QuarantinedReading).where(QuarantinedReading.id <= newest - QUARANTINE_KEEP)
            )
            self._last_prune = time.monotonic()
        conn.commit()


def quarantined(
    session: Session,
    *,
    gateway: str | None = None,
    device: str | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[QuarantinedPublic]:
    """The newest quarantined readings, filtered."""
    q = select(QuarantinedReading).order_by(QuarantinedReading.id.desc()).limit(limit)
    if gateway is not None:
        q = q.where(QuarantinedReading.gateway_id == gateway)
    if device is not None:
        q = q.where(QuarantinedReading.device == device)
    if kind is not None:
        q = q.where(QuarantinedReading.kind == kind)
    return [QuarantinedPublic.model_validate(row) for row in session.scalars(q)]


def _places(conn: Connection, gateway_id: str, devices: set[str]) -> dict[str, SpaceRef | None]:
    """Where the server's registry places each of ``devices`` that belongs to the gateway."""
    if not devices:
        return {}
    rows = conn.execute(
        select(Device.id, *(getattr(Device, c) for c in SPACE_COLUMNS)).where(
            Device.id.in_(list(devices)), Device.gateway_id == gateway_id
        )
    )
    return {row.id: device_space(row) for row in rows}


def _foreign(v: _Valid, gateway_id: str) -> Rejection:
    return Rejection(
        index=v.index,
        device=v.reading.device,
        kind="foreign",
        reason=f"device {v.reading.device!r} is not registered to gateway {gateway_id!r}",
    )


def _quarantine(batch: IngestBatch, rejections: list[Rejection]) -> list[dict[str, Any]]:
    """Rows for the quarantine table: each refused reading as sent, with its reason."""
    now_ms = clock_ms()
    return [
        {
            "received_ms": now_ms,
            "gateway_id": batch.gateway_id,
            "batch_id": batch.batch_id,
            "device": rej.device[:64] if rej.device else None,
            "kind": rej.kind,
            "reason": rej.reason[:REASON_MAX],
            "reading": json.dumps(batch.readings[rej.index], default=str)[:READING_MAX],
        }
        for rej in rejections
    ]


@dataclass(frozen=True, slots=True)
class _Counted:
    """A device's sequence accounting as stored."""

    boot: int | None
    bid: int | None
    seq: int | None
    gaps: int
    past_bids: str


def _heard(readings: list[Reading], counted: _Counted) -> dict[str, Any]:
    """A device's new last-seen time, health from its newest heartbeat, and gap count.

    A gap is a sequence number skipped within one boot; a reading that arrives late fills
    one again. Readings of an earlier boot count for nothing; which boot a reading is of
    is the contract's rule (:func:`contracts.boots.which_boot`), so a node that started
    over with its counter at 1 is counted as a new boot.
    """
    values: dict[str, Any] = {"last_seen_ms": max(r.received for r in readings)}
    received = [r.received for r in readings if r.seq is not None]
    if received:
        values["last_reading_ms"] = max(received)
    seq_boot, seq_bid, last_seq, gaps = counted.boot, counted.bid, counted.seq, counted.gaps
    past = boots.decode(counted.past_bids)
    for r in (r for r in readings if r.seq is not None):
        seq = r.seq
        assert seq is not None
        which = (
            "new"
            if seq_boot is None or last_seq is None
            else boots.which_boot(r.boot, r.bid, (seq_boot, seq_bid), past)
        )
        if which == "new":
            if seq_boot is not None:
                past = boots.remember(past, seq_bid)
            seq_boot, seq_bid, last_seq = r.boot, r.bid, seq
        elif which == "current":
            seq_bid = r.bid
            assert last_seq is not None
            if seq > last_seq:
                gaps += seq - last_seq - 1
                last_seq = seq
            elif gaps > 0:
                gaps -= 1
    values.update(
        seq_boot=seq_boot,
        seq_bid=seq_bid,
        last_seq=last_seq,
        gaps=gaps,
        past_bids=boots.encode(past),
    )
    beats = [r for r in readings if isinstance(r, HeartbeatReading)]
    if beats:
        beat = max(beats, key=lambda r: (r.boot, r.seq)).data
        values.update(
            rssi_dbm=beat.rssi_dbm,
            heap_free=beat.heap_free,
            uptime_s=beat.uptime_s,
            fw=beat.fw,
            sensor_errors=beat.sensor_errors,
            last_error=beat.last_error,
            buffered=beat.buffered,
            dropped=beat.dropped,
        )
    return values
