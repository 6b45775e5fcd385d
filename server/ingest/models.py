"""The table of readings already stored, keyed by (device, boot, seq)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class SeenReading(Base):
    """A reading the server has stored; a re-sent one is counted as a duplicate."""

    __tablename__ = "ingest_seen"

    device: Mapped[str] = mapped_column(String(32), primary_key=True)
    boot: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    stored_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ingest_seen_stored", "stored_ms"),)
