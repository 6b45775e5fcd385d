"""Layout tables: a building has floors; a floor has zones, desks and rooms.

Codes (``kemenpan-a``, ``f2``, ``f2-d014``) are the ids people and devices use; they are
unique within their building. Integer keys join the tables.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

CODE = 32


class Building(Base):
    """A building; its time zone (an IANA name) is WITA unless it says otherwise."""

    __tablename__ = "buildings"

    id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Makassar")


class Floor(Base):
    """A floor with its plan (SVG or image) in plan units that desk coordinates use."""

    __tablename__ = "floors"
    __table_args__ = (UniqueConstraint("building_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(CODE))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(Integer)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    plan: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    plan_type: Mapped[str | None] = mapped_column(String(64), default=None)
    agency_id: Mapped[str | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True, default=None
    )
    """The agency whose floor this is; None: the building's, shared by every agency."""


class Zone(Base):
    """An HVAC zone, a lighting zone, or a team's neighbourhood, on one floor."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("building_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    floor_id: Mapped[int] = mapped_column(ForeignKey("floors.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(CODE))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(100), default=None)


class _OnFloor:
    """Columns of everything that sits on a floor in an HVAC (and a lighting) zone."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    floor_id: Mapped[int] = mapped_column(ForeignKey("floors.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    lighting_zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), default=None)
    code: Mapped[str] = mapped_column(String(CODE))
    name: Mapped[str] = mapped_column(String(200))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    bookable: Mapped[bool] = mapped_column(Boolean, default=True)


class Desk(_OnFloor, Base):
    """A flexible desk: where it is, which zones serve it, and what it offers."""

    __tablename__ = "desks"
    __table_args__ = (UniqueConstraint("building_id", "code"),)

    neighbourhood_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), default=None)
    monitor: Mapped[bool] = mapped_column(Boolean, default=False)
    standing: Mapped[bool] = mapped_column(Boolean, default=False)
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)
    qr_key: Mapped[str | None] = mapped_column(
        String(32), default=lambda: secrets.token_urlsafe(12)
    )
    """The secret in the desk's QR label: a check-in by QR shows the label was scanned."""


class Room(_OnFloor, Base):
    """A meeting room: a rectangle on the plan and a capacity."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("building_id", "code"),)

    capacity: Mapped[int] = mapped_column(Integer)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
