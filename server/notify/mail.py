"""Send the mail queued in the database over SMTP, retrying until it is taken.

What is queued, and in which words, is the business of the area that queues it (booking
mail: ``server.bookings.mail``). Senders are pluggable: anything with ``send(message)``
taking an ``email.message.EmailMessage``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.clock import now_ms
from server.db import DATABASE, Database
from server.notify.models import MailMessage

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


def mail_on(session: Session) -> bool:
    """Whether this deployment sends mail (an SMTP server is set)."""
    db = session.info.get(DATABASE)
    return db is not None and bool(db.mail)


def queue(session: Session, *, to: str | None, subject: str, body: str) -> bool:
    """Queue a message in ``session``'s transaction, where mail is sent and there is an address."""
    if not to or not mail_on(session):
        return False
    session.add(MailMessage(to=to, subject=subject, body=body, created_ms=now_ms()))
    return True


class Sender(Protocol):
    """Delivers one message or raises."""

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the mail system."""


class SmtpSender:
    """SMTP with STARTTLS when the server offers it (or required), and optional login."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout_s: float = 30,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.timeout_s = starttls, timeout_s

    def send(self, message: EmailMessage) -> None:
        """Send over one SMTP connection."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            smtp.ehlo()
            if self.starttls and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


def deliver(db: Database, sender: Sender, mail_from: str, batch: int = 50) -> int:
    """Send queued mail; a failure is kept with its error and tried again later."""
    sent = 0
    with db.session() as session:
        pending = session.scalars(
            select(MailMessage)
            .where(MailMessage.sent_ms.is_(None), MailMessage.attempts < MAX_ATTEMPTS)
            .order_by(MailMessage.id)
            .limit(batch)
        ).all()
        for mail in pending:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = mail_from, mail.to, mail.subject
            message.set_content(mail.body)
            mail.attempts += 1
            try:
                sender.send(message)
            except (OSError, smtplib.SMTPException) as exc:
                mail.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
                logger.warning("mail %d to the SMTP server failed: %s", mail.id, mail.last_error)
                break  # the server is away: try the rest at the next sweep
            mail.sent_ms = now_ms()
            sent += 1
    return sent
