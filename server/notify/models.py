"""The outboxes of mail and push, and how each person wants to be told.

A message is queued in the transaction of the change it tells of; a browser a person let
notify them is a push subscription.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class MailMessage(Base):
    """One e-mail, kept until the SMTP server has taken it."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    sent_ms: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)


class PushSubscription(Base):
    """A browser (an installed app) a person allowed to show notifications (Web Push)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_sent_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class PushMessage(Base):
    """One notification for one browser, kept until its push service has taken it.

    ``key`` names what it tells (``reminder:42``): one message per key and browser, so a
    reminder is sent once however often the sweep that queues it runs.
    """

    __tablename__ = "push_outbox"
    __table_args__ = (UniqueConstraint("subscription_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    sent_ms: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)


class NotifyPrefs(Base):
    """How a person wants to be told: by which channels, and when not (quiet hours)."""

    __tablename__ = "notify_prefs"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    mail: Mapped[bool] = mapped_column(Boolean, default=True)
    push: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_from: Mapped[int | None] = mapped_column(Integer, default=None)
    """Minute of the day quiet hours begin (local time); None: no quiet hours."""
    quiet_to: Mapped[int | None] = mapped_column(Integer, default=None)
    morning: Mapped[bool] = mapped_column(Boolean, default=True)
    """A morning summary on office days."""


class SentNotice(Base):
    """That a person was told something (by ``key``): each message goes out once."""

    __tablename__ = "notices_sent"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    sent_ms: Mapped[int] = mapped_column(BigInteger, index=True)
