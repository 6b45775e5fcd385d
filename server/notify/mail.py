"""Queue booking mail in the database and send it over SMTP, retrying until it is taken.

The text is in Bahasa Indonesia, then English. Without ``SMARTOFFICE_SMTP_HOST`` nothing
is queued. Senders are pluggable: anything with ``send(message)`` taking an
``email.message.EmailMessage``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.models import User
from server.bookings.models import Booking
from server.db import Database
from server.notify.models import MailMessage

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


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


WHY = {
    "no_show": ("tidak ada check-in", "nobody checked in"),
    "released_early": ("meja kosong terlalu lama", "the desk was left empty"),
}


def queue_for(session: Session, booking: Booking, kind: str, tz: ZoneInfo) -> None:
    """Queue the mail of a booking event for its owner, if they have an address."""
    user = session.get(User, booking.user_id)
    if user is None or not user.email:
        return
    start = datetime.fromtimestamp(booking.start_ms / 1000, tz)
    end = datetime.fromtimestamp(booking.end_ms / 1000, tz)
    when = f"{start:%d-%m-%Y %H:%M}-{end:%H:%M} WITA"
    what = f"{'meja' if booking.space_kind == 'desk' else 'ruang'} {booking.space_code}"
    what_en = f"{booking.space_kind} {booking.space_code}"
    if kind == "confirmed":
        subject = f"Pemesanan {what} dikonfirmasi / Booking confirmed"
        body = (
            f"Pemesanan {what} di {booking.building_id}, {when}, sudah tercatat. "
            f"Check-in otomatis saat sensor meja melihat Anda, atau pindai kode QR meja.\n\n"
            f"Your booking of {what_en} in {booking.building_id}, {when}, is confirmed. "
            f"You are checked in when the desk's sensor sees you, or scan the desk's QR code."
        )
    elif kind == "reminder":
        subject = f"Segera check-in di {what} / Check in soon"
        body = (
            f"Belum ada check-in untuk {what} ({when}). Tanpa check-in, meja dilepas untuk "
            f"orang lain dalam beberapa menit.\n\n"
            f"Nobody has checked in at {what_en} ({when}) yet. Without a check-in the desk is "
            f"released for others in a few minutes."
        )
    else:
        why_id, why_en = WHY.get(booking.outcome or "", ("dilepas", "released"))
        subject = f"Pemesanan {what} dilepas / Booking released"
        body = (
            f"Pemesanan {what} ({when}) dilepas: {why_id}. Catatan pemesanan tetap disimpan.\n\n"
            f"Your booking of {what_en} ({when}) was released: {why_en}. "
            f"The booking record is kept."
        )
    session.add(
        MailMessage(to=user.email, subject=subject, body=body, created_ms=int(time.time() * 1000))
    )


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
            mail.sent_ms = int(time.time() * 1000)
            sent += 1
    return sent
