"""The mail a booking's owner gets: confirmed, check in soon, released.

The text is in Bahasa Indonesia, then English, with times in the building's zone. It is
queued in the same transaction as the change it tells of (``server.notify`` sends it),
whoever made the change (the API, a page, the desk monitor); without
``SMARTOFFICE_SMTP_HOST`` nothing is queued.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from server.auth.models import User
from server.bookings.models import Booking
from server.calendar.dates import from_ms
from server.notify.mail import mail_on, queue

WHY = {
    "no_show": ("tidak ada check-in", "nobody checked in"),
    "released_early": ("meja kosong terlalu lama", "the desk was left empty"),
}


def queue_for(session: Session, booking: Booking, kind: str, tz: ZoneInfo) -> None:
    """Queue the mail of a booking event for its owner (where mail is sent, to an address)."""
    if not mail_on(session):
        return
    user = session.get(User, booking.user_id)
    if user is None:
        return
    subject, body = texts(booking, kind, tz)
    queue(session, to=user.email, subject=subject, body=body)


def texts(booking: Booking, kind: str, tz: ZoneInfo) -> tuple[str, str]:
    """The mail's subject and body for a booking event, Bahasa Indonesia then English."""
    start = from_ms(booking.start_ms, tz)
    end = from_ms(booking.end_ms, tz)
    when = f"{start:%d-%m-%Y %H:%M}-{end:%H:%M} {start.tzname()}"
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
    return subject, body
