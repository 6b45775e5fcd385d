"""The agencies table: a ministry or body whose people work in the platform's buildings."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

CODE = 32


class Agency(Base):
    """An agency (instansi): its code, its names, and who answers for its people's data.

    Under UU PDP each agency is the controller of its own staff's personal data; the privacy
    notice names ``controller`` and ``contact`` (its data protection officer) to its people.
    """

    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    """In Bahasa Indonesia, as the agency writes it."""
    name_en: Mapped[str | None] = mapped_column(String(200), default=None)
    controller: Mapped[str | None] = mapped_column(String(300), default=None)
    contact: Mapped[str | None] = mapped_column(String(300), default=None)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Unit(Base):
    """A unit (unit kerja) of an agency: a directorate, a bureau, a centre.

    A person of the agency belongs to one of its units (``User.team`` holds the unit's
    name); a zone reserved for a team is reserved for the unit of that name. An agency that
    lists no unit leaves its people's team free text, as before units.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[str] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    """The unit's head (atasan), who sees the unit's week of work plans."""
    team_days: Mapped[str | None] = mapped_column(String(16), default=None)
    """Weekdays (Monday = 0, comma-separated) the unit comes in together; None: no team day."""

    __table_args__ = (UniqueConstraint("agency_id", "name"),)
