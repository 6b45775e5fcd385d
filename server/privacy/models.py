"""Privacy tables: people's requests about their data, and what the retention job did."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class PrivacyRequest(Base):
    """A person asks for their history to be anonymised, or their account erased.

    Kept after it is carried out (the username stays): it is the proof that it was. It
    belongs to the account by its ``uid``, never by the name someone may be given later.
    """

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    user_uid: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    agency_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    """The person's agency when they asked: its administrators answer the request."""
    kind: Mapped[str] = mapped_column(String(16))
    """``anonymise`` (past bookings lose the name; the account stays) or ``erase``."""
    note: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    """open, done, refused or withdrawn."""
    created_ms: Mapped[int] = mapped_column(BigInteger)
    decided_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    answer: Mapped[str | None] = mapped_column(String(500), default=None)
    """Why it was refused, or what was done."""


class RetentionRun(Base):
    """The newest run of the retention job for one category of the inventory."""

    __tablename__ = "retention_runs"

    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    ran_ms: Mapped[int] = mapped_column(BigInteger)
    cutoff_ms: Mapped[int] = mapped_column(BigInteger)
    removed: Mapped[int | None] = mapped_column(Integer, default=None)
    """Rows deleted or anonymised; None where the store does not count."""
    error: Mapped[str | None] = mapped_column(String(300), default=None)
    """Why this run could not enforce the category; None when it did."""
    enforced_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The newest run that did enforce it."""
