"""Users, their browser sessions, and failed logins."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class User(Base):
    """A person: a local account (argon2 hash) or one known from the identity provider."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    """The account's own id, never given again (a username may be, after an erasure)."""
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    team: Mapped[str | None] = mapped_column(String(100), default=None)
    share_location: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """Opt-in: colleagues of the same team may see where this person sits today."""
    role: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(8), default="local")
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_login_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    agency_id: Mapped[str | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True, default=None
    )
    """The agency the person works for; None for the platform's and the buildings' own staff
    (administrators, building operators, installers)."""
    buildings: Mapped[str | None] = mapped_column(String(1000), default=None)
    """Comma-separated buildings an installer may work in; None is every building."""
    # A provider's account is the provider's (issuer, subject), never its username: a
    # username can be renamed or reissued at the provider; the subject cannot.
    oidc_issuer: Mapped[str | None] = mapped_column(String(200), default=None)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    """The person's choice of language for pages, mail and messages; None follows the browser."""
    feed_sha256: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    """A hash of the secret in the person's calendar feed URL; None while they have none."""

    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)


class LoginFailure(Base):
    """A failed password login, kept for the rate limit's window."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    device: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    """The browser tried from, when it is one its owner signed in on before (else None)."""
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class WebSession(Base):
    """A browser signed in: the cookie holds a secret, this row only its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger, index=True)
