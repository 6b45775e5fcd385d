"""Energy tables: how far rollups have got, zone decisions over time, comfort alerts."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class RollupState(Base):
    """A building's hourly rollups are complete before ``done_until_ms``.

    Readings that arrive late for an hour already rolled up set ``dirty_from_ms``; the next
    rollup run redoes the hours from there.
    """

    __tablename__ = "rollup_state"

    building_id: Mapped[str] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True
    )
    done_until_ms: Mapped[int] = mapped_column(BigInteger)
    dirty_from_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class ZoneAction(Base):
    """A zone's HVAC or lighting mode from ``start_ms`` until ``end_ms`` (None: still)."""

    __tablename__ = "zone_actions"
    __table_args__ = (Index("ix_zone_actions_zone", "building_id", "zone", "channel", "start_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    floor: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(300))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    # What comes next, when known (a booked arrival): kept current while the mode lasts.
    next_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    next_at_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Sent to the building-management system (commands on), or only advised.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class ComfortAlert(Base):
    """A room above a CO2 level while occupied, from ``started_ms`` until ``ended_ms``."""

    __tablename__ = "comfort_alerts"
    __table_args__ = (Index("ix_comfort_alerts_open", "building_id", "ended_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    floor: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(32))
    space: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(16))
    level: Mapped[float] = mapped_column(Float)
    started_ms: Mapped[int] = mapped_column(BigInteger)
    ended_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    peak: Mapped[float] = mapped_column(Float)
    last_value: Mapped[float] = mapped_column(Float)
