"""Booking tables: bookings, desk blocks and desks' live state.

The rules per building or zone and the closed days are the calendar's (server.calendar).

Times are epoch milliseconds (UTC); they are shown in the building's time zone.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.auth.models import User
from server.db import Base

# A booking holds its desk or room only in these states.
ACTIVE = ("booked", "checked_in")
# ... and these are over, with an outcome.
FINISHED = ("completed", "released", "cancelled")
# A check-in shows the person was there when one of these showed it (Booking.presence).
PRESENT = ("sensor", "qr", "manager")


class Booking(Base):
    """A desk or room held by one person for a slot, and how it ended."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_desk_slot", "desk_id", "start_ms", "end_ms"),
        Index("ix_bookings_user_slot", "user_id", "start_ms"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    # A desk or room removed from the layout leaves its bookings' history (code kept).
    desk_id: Mapped[int | None] = mapped_column(
        ForeignKey("desks.id", ondelete="SET NULL"), default=None
    )
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="SET NULL"), default=None, index=True
    )
    space_code: Mapped[str] = mapped_column(String(32))
    space_kind: Mapped[str] = mapped_column(String(8))
    # None once the booking is anonymised (past retention, or at the person's request): the
    # desk, times and outcome stay for the reports; nothing says whose it was.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    booked_by: Mapped[str] = mapped_column(String(100))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="booked")
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    series_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    checked_in_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    checked_in_by: Mapped[str | None] = mapped_column(String(16), default=None)
    presence: Mapped[str | None] = mapped_column(String(16), default=None)
    """How the person's presence was shown: ``sensor`` (the desk's), ``qr`` (its label
    scanned, at a desk without a sensor), ``manager``, ``app`` (the booker's word alone),
    ``pending`` (checked in at a desk whose sensor has not seen anyone yet) or
    ``unconfirmed`` (it saw nobody within the grace period). See PRESENT."""
    checked_in_actor: Mapped[str | None] = mapped_column(String(100), default=None)
    checked_out_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    released_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reminded_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # When the outcome went to the reading store (as the "booking" stream).
    exported_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    release_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    held_until_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The person said "I am coming": nobody's no-show before this (``server.bookings.remind``)."""
    origin: Mapped[str | None] = mapped_column(String(8), default=None)
    """``plan``: booked by the person's work plan (and released when the plan changes);
    None: booked by a person."""

    owner: Mapped[User | None] = relationship(lazy="select")


class DeskBlock(Base):
    """A desk out of use for a while (maintenance, a broken chair)."""

    __tablename__ = "desk_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"), index=True)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))


class DeskLive(Base):
    """What a desk's sensor last said, and the LED state last sent to its node."""

    __tablename__ = "desk_live"

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    occupied: Mapped[bool] = mapped_column(Boolean, default=False)
    since_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    device_id: Mapped[str | None] = mapped_column(String(32), default=None)
    led: Mapped[str | None] = mapped_column(String(16), default=None)
    led_since_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class RoomSeen(Base):
    """What a meeting room's people counter last said: when it reported, when it saw anyone.

    A room booked while its counter reports and sees nobody is a ghost booking, released
    after the check-in grace (``DeskMonitor``).
    """

    __tablename__ = "room_seen"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    reported_ms: Mapped[int] = mapped_column(BigInteger)
    occupied_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class KioskLink(Base):
    """A floor's screen by the lift: opened by a secret link (only its hash is kept)."""

    __tablename__ = "kiosk_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    floor: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class FloorOpening(Base):
    """An agency's floor opened to another agency's people for one day (overflow)."""

    __tablename__ = "floor_openings"
    __table_args__ = (UniqueConstraint("floor_id", "agency_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    floor_id: Mapped[int] = mapped_column(ForeignKey("floors.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    day: Mapped[str] = mapped_column(String(10))
    """The day (``YYYY-MM-DD``, the building's calendar)."""
    created_by: Mapped[str] = mapped_column(String(100))
    created_ms: Mapped[int] = mapped_column(BigInteger)
