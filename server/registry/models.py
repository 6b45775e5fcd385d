"""Registry tables: gateways and the devices they serve."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class Gateway(Base):
    """A building's edge gateway; only a hash of its token is kept."""

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_ingest_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class Device(Base):
    """A sensor node, its place, and what the data path last heard of it."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    gateway_id: Mapped[str | None] = mapped_column(
        ForeignKey("gateways.id", ondelete="SET NULL"), index=True, default=None
    )
    building: Mapped[str | None] = mapped_column(String(32), default=None)
    floor: Mapped[str | None] = mapped_column(String(32), default=None)
    zone: Mapped[str | None] = mapped_column(String(32), default=None)
    space: Mapped[str | None] = mapped_column(String(32), default=None)
    space_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    fw: Mapped[str | None] = mapped_column(String(32), default=None)
    boot: Mapped[int | None] = mapped_column(Integer, default=None)
