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


class AgencyPolicy(Base):
    """An agency's own booking rules for its people, layered on each building's.

    A rule left empty is the building's; a rule given can only narrow it (a shorter
    window, fewer bookings, a shorter grace, fewer hours or days): the building's frame
    holds for everyone in it.
    """

    __tablename__ = "agency_policies"

    agency_id: Mapped[str] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True
    )
    window_days: Mapped[int | None] = mapped_column(Integer, default=None)
    max_per_day: Mapped[int | None] = mapped_column(Integer, default=None)
    max_per_week: Mapped[int | None] = mapped_column(Integer, default=None)
    open_minute: Mapped[int | None] = mapped_column(Integer, default=None)
    close_minute: Mapped[int | None] = mapped_column(Integer, default=None)
    weekdays: Mapped[str | None] = mapped_column(String(16), default=None)
    checkin_grace_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    min_office_days: Mapped[int | None] = mapped_column(Integer, default=None)
    """Work plans: at least this many office days in a full working week (a rule plans are
    checked against, never changed by)."""


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
    agency_id: Mapped[str | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True, default=None
    )
    """An agency's own leave day: closed for its people, in every building."""
