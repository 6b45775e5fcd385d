"""Ingest tables: readings already stored, and readings refused with their reasons."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class SeenReading(Base):
    """A reading the server has taken; a re-sent one is counted as a duplicate.

    Keyed by (device, boot, bid, seq): ``bid`` is the node's random boot id, so a node that
    starts its boot counter over never collides with its own earlier readings.
    """

    __tablename__ = "ingest_seen"

    device: Mapped[str] = mapped_column(String(32), primary_key=True)
    boot: Mapped[int] = mapped_column(Integer, primary_key=True)
    bid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    stored_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ingest_seen_stored", "stored_ms"),)


class QuarantinedReading(Base):
    """A reading of a batch that was not stored: invalid, not the gateway's, or refused.

    Kept (bounded, newest first) so that an operator can see what was refused and why;
    ``reading`` is the reading as the gateway sent it, cut to a few KiB.
    """

    __tablename__ = "ingest_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    gateway_id: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[str] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(64), default=None)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    reading: Mapped[str] = mapped_column(Text)
