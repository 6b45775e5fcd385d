"""The audit log table."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class AuditEntry(Base):
    """One change: who (a user, a gateway or the command line), what, to which thing."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(100), index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    agency: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    """The agency whose people or things the entry concerns (its detail's ``agency``)."""
