"""A person's work plan: a weekly pattern, and the days that differ from it.

Days are ISO dates (``YYYY-MM-DD``) in the person's building's time zone, as the calendar's
closed days are.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class WorkPlan(Base):
    """A person's week as it usually goes, and how their office days are booked."""

    __tablename__ = "work_plans"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    week: Mapped[str] = mapped_column(String(120), default=",,,,,,")
    """Seven places, Monday first, comma-separated; an empty one is not planned."""
    building_id: Mapped[str | None] = mapped_column(
        ForeignKey("buildings.id", ondelete="SET NULL"), default=None
    )
    """The person's office; None: the building of their agency's floors."""
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("zones.id", ondelete="SET NULL"), default=None
    )
    desk_id: Mapped[int | None] = mapped_column(
        ForeignKey("desks.id", ondelete="SET NULL"), default=None
    )
    book_ahead_days: Mapped[int] = mapped_column(Integer, default=0)
    """How many days ahead office days get a desk booked; 0: none are booked."""
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class PlanDay(Base):
    """One day planned otherwise than the week says (leave, travel, a day at home)."""

    __tablename__ = "plan_days"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    place: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200), default=None)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class ForecastRow(Base):
    """The forecast of one zone for one day, as it stood the afternoon before."""

    __tablename__ = "forecasts"

    building_id: Mapped[str] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    zone: Mapped[str] = mapped_column(String(32), primary_key=True)
    floor: Mapped[str] = mapped_column(String(32))
    booked: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    made_ms: Mapped[int] = mapped_column(BigInteger)
