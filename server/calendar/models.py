"""The calendar's tables: the rules per building or zone, and the days closed by hand."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class BookingPolicy(Base):
    """Booking rules for a building, or for one zone of it (which then wins)."""

    __tablename__ = "booking_policies"
    __table_args__ = (UniqueConstraint("building_id", "zone_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("zones.id", ondelete="CASCADE"), default=None
    )
    window_days: Mapped[int] = mapped_column(Integer)
    min_minutes: Mapped[int] = mapped_column(Integer)
    max_minutes: Mapped[int] = mapped_column(Integer)
    max_per_day: Mapped[int] = mapped_column(Integer)
    max_per_week: Mapped[int] = mapped_column(Integer)
    open_minute: Mapped[int] = mapped_column(Integer)
    close_minute: Mapped[int] = mapped_column(Integer)
    weekdays: Mapped[str] = mapped_column(String(16))
    checkin_grace_minutes: Mapped[int] = mapped_column(Integer)
    release_after_vacant_minutes: Mapped[int] = mapped_column(Integer, default=60)
    public_holidays: Mapped[bool] = mapped_column(Boolean)


class ClosedDay(Base):
    """A day a building (or every building) is closed: collective leave, an event."""

    __tablename__ = "closed_days"
    __table_args__ = (UniqueConstraint("building_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    building_id: Mapped[str | None] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), default=None
    )
    day: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(200))
