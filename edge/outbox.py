"""The gateway's durable store: outbox, quarantine, de-duplication keys and device state.

One SQLite file in WAL mode. The pipeline commits a whole slice of messages in one
transaction and only then acknowledges them to the broker; the uplink reads the outbox in
id order and deletes rows once the server has taken them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from contracts import boots

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL,
    topic TEXT NOT NULL, payload BLOB NOT NULL, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (
    device TEXT NOT NULL, boot INTEGER NOT NULL, bid INTEGER NOT NULL, seq INTEGER NOT NULL,
    received_ms INTEGER NOT NULL, PRIMARY KEY (device, boot, bid, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_received ON seen (received_ms);
CREATE TABLE IF NOT EXISTS devices (
    device TEXT PRIMARY KEY, boot INTEGER NOT NULL, min_seq INTEGER NOT NULL,
    max_seq INTEGER NOT NULL,
    received INTEGER NOT NULL, gaps_before INTEGER NOT NULL, status TEXT,
    bid INTEGER, past_bids TEXT NOT NULL DEFAULT ''
);
"""
QUARANTINE_KEEP = 100_000
# Outbox rows the server refused are kept in the quarantine under this topic.
DEAD_LETTER_TOPIC = "(outbox)"
QUARANTINE_PAYLOAD_MAX = 4096
# Rows per look-up: 3 parameters each stays far below SQLite's parameter limit.
_CHUNK = 500


@dataclass(slots=True)
class DeviceState:
    """Sequence accounting of one device.

    Missing this boot = (max_seq - min_seq + 1) - received. A boot the gateway sees from its
    start counts from seq 0; the first boot it ever sees counts from the lowest seq received,
    since what came before the gateway existed is not a gap. Which boot a message belongs to
    is the contract's rule (:func:`contracts.boots.which_boot`).
    """

    boot: int
    min_seq: int
    max_seq: int
    received: int
    gaps_before: int
    status: str | None = None
    bid: int | None = None
    past_bids: str = ""

    @property
    def gaps(self) -> int:
        """Messages never received, over every boot the gateway has seen."""
        return self.gaps_before + max(0, self.max_seq - self.min_seq + 1 - self.received)

    def count(self, boot: int, bid: int, seq: int) -> None:
        """Account a new (not duplicate) message."""
        which = boots.which_boot(boot, bid, (self.boot, self.bid), boots.decode(self.past_bids))
        if which == "new":
            self.gaps_before = self.gaps
            self.past_bids = boots.encode(boots.remember(boots.decode(self.past_bids), self.bid))
            self.boot, self.bid, self.min_seq, self.max_seq, self.received = boot, bid, 0, seq, 1
        elif which == "current":
            self.bid = bid
            self.min_seq = min(self.min_seq, seq)
            self.max_seq = max(self.max_seq, seq)
            self.received += 1


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A message the gateway refused, kept with its reason."""

    id: int
    received_ms: int
    topic: str
    payload: bytes
    reason: str


class Outbox:
    """The gateway's SQLite file; safe to use from the pipeline and uplink threads."""

    def __init__(self, path: Path, *, sync: str = "full") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Readings and device state are the building's own: readable by the gateway alone.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
        self._db.execute("PRAGMA busy_timeout=10000")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(seen)")}
        if columns and "bid" not in columns:
            # Keys from before boot ids: the server de-duplicates what is re-sent meanwhile.
            self._db.execute("DROP TABLE seen")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(devices)")}
        if columns and "bid" not in columns:
            self._db.execute("ALTER TABLE devices ADD COLUMN bid INTEGER")
            self._db.execute("ALTER TABLE devices ADD COLUMN past_bids TEXT NOT NULL DEFAULT ''")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.devices: dict[str, DeviceState] = {
            row[0]: DeviceState(*row[1:])
            for row in self._db.execute(
                "SELECT device, boot, min_seq, max_seq, received, gaps_before, status, bid,"
                " past_bids FROM devices"
            )
        }
        self._dirty: set[str] = set()
        self.depth = self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        self.dead_letters = self._count_dead_letters()

    def _count_dead_letters(self) -> int:
        return int(
            self._db.execute(
                "SELECT count(*) FROM quarantine WHERE topic = ?", (DEAD_LETTER_TOPIC,)
            ).fetchone()[0]
        )

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic slice of work; committed (and device state saved) on exit."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            tx = Transaction(self)
            try:
                yield tx
                self._save_devices()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self.depth += tx.added

    def _save_devices(self) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO devices (device, boot, min_seq, max_seq, received,"
            " gaps_before, status, bid, past_bids) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    d,
                    s.boot,
                    s.min_seq,
                    s.max_seq,
                    s.received,
                    s.gaps_before,
                    s.status,
                    s.bid,
                    s.past_bids,
                )
                for d in self._dirty
                if (s := self.devices[d])
            ],
        )
        self._dirty.clear()

    def peek(self, limit: int) -> list[tuple[int, bytes]]:
        """The oldest ``limit`` outbox rows, in order."""
        with self._lock:
            return self._db.execute(
                "SELECT id, body FROM outbox ORDER BY id LIMIT ?", (limit,)
            ).fetchall()

    def oldest_received_ms(self) -> int | None:
        """When the gateway received the oldest reading still waiting to be sent."""
        with self._lock:
            row = self._db.execute("SELECT body FROM outbox ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        try:
            received = json.loads(row[0]).get("received")
        except (ValueError, AttributeError):
            return None
        return received if isinstance(received, int) else None

    def remove_through(self, last_id: int) -> None:
        """Delete every outbox row up to and including ``last_id``."""
        with self._lock:
            cur = self._db.execute("DELETE FROM outbox WHERE id <= ?", (last_id,))
            self.depth -= cur.rowcount

    def dead_letter(
        self, refused: list[tuple[int, bytes, str]], *, through: int | None = None
    ) -> None:
        """Set outbox rows the server refused aside (id, body, reason), in one transaction.

        With ``through``, every row up to that id leaves the outbox too (the rest of a
        batch the server took).
        """
        now = int(time.time() * 1000)
        last = max([through or 0, *(i for i, _, _ in refused)])
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO quarantine (received_ms, topic, payload, reason) VALUES (?,?,?,?)",
                [(now, DEAD_LETTER_TOPIC, body, reason[:500]) for _, body, reason in refused],
            )
            cur = self._db.execute("DELETE FROM outbox WHERE id <= ?", (last,))
            self._db.execute("COMMIT")
            self.depth -= cur.rowcount
            self.dead_letters += len(refused)

    def quarantined(self, limit: int = 100) -> list[Quarantined]:
        """The newest quarantined messages, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, received_ms, topic, payload, reason FROM quarantine"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Quarantined(*r) for r in rows]

    def prune(self, *, seen_before_ms: int) -> None:
        """Forget old de-duplication keys and keep the quarantine bounded."""
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE received_ms < ?", (seen_before_ms,))
            self._db.execute(
                "DELETE FROM quarantine WHERE id <= (SELECT max(id) FROM quarantine) - ?",
                (QUARANTINE_KEEP,),
            )
            self.dead_letters = self._count_dead_letters()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()


class Transaction:
    """Operations inside :meth:`Outbox.transaction`."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._db = outbox._db
        self.added = 0

    def claim(self, keys: list[tuple[str, int, int, int, int]]) -> list[bool]:
        """Record (device, boot, bid, seq, received_ms) keys; True where new.

        One look-up and one insert per slice rather than per message: this is the gateway's
        hottest path.
        """
        known: set[tuple[str, int, int, int]] = set()
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            values = ",".join("(?,?,?,?)" for _ in chunk)
            params = [v for k in chunk for v in k[:4]]
            # A join, not `(device, boot, bid, seq) IN (VALUES ...)`: SQLite scans the whole
            # table for the latter and searches the primary key for the former.
            known.update(
                self._db.execute(
                    f"WITH k(d, b, i, s) AS (VALUES {values}) SELECT k.d, k.b, k.i, k.s FROM k"
                    " JOIN seen ON seen.device = k.d AND seen.boot = k.b AND seen.bid = k.i"
                    " AND seen.seq = k.s",
                    params,
                ).fetchall()
            )
        fresh: list[bool] = []
        new_rows = []
        for device, boot, bid, seq, received_ms in keys:
            key = (device, boot, bid, seq)
            if key in known:
                fresh.append(False)
                continue
            known.add(key)
            fresh.append(True)
            new_rows.append((device, boot, bid, seq, received_ms))
            self._count(device, boot, bid, seq)
        self._db.executemany("INSERT INTO seen VALUES (?,?,?,?,?)", new_rows)
        return fresh

    def _count(self, device: str, boot: int, bid: int, seq: int) -> None:
        state = self._outbox.devices.get(device)
        if state is None or state.boot < 0:  # the first uplink this gateway sees
            status = state.status if state else None
            self._outbox.devices[device] = DeviceState(boot, seq, seq, 1, 0, status, bid)
        else:
            state.count(boot, bid, seq)
        self._outbox._dirty.add(device)

    def status_changed(self, device: str, status: str) -> bool:
        """Record a device's status text; False when it is the same as last time."""
        state = self._outbox.devices.get(device)
        if state is None:
            state = self._outbox.devices[device] = DeviceState(-1, 0, -1, 0, 0)
        if state.status == status:
            return False
        state.status = status
        self._outbox._dirty.add(device)
        return True

    def enqueue(self, bodies: list[bytes]) -> None:
        """Add readings to the outbox, in order."""
        self._db.executemany("INSERT INTO outbox (body) VALUES (?)", [(b,) for b in bodies])
        self.added += len(bodies)

    def quarantine(self, received_ms: int, topic: str, payload: bytes, reason: str) -> None:
        """Keep a refused message with its reason."""
        self._db.execute(
            "INSERT INTO quarantine (received_ms, topic, payload, reason) VALUES (?,?,?,?)",
            (received_ms, topic, payload[:QUARANTINE_PAYLOAD_MAX], reason),
        )
