"""What a booking's person is told, on each channel they chose, and their one-tap answers.

A booking's confirmation goes by mail; its check-in reminder and its release by every
channel the person keeps on (``server.notify.service``), in their language, with the why of a
release. A reminder carries two answers, each one tap from the notification or the mail:

- **Saya datang / I am coming**: the desk is kept ``coming_hold_minutes`` past the check-in
  grace (never past the booking's end, once per booking);
- **Lepaskan / Release it**: the booking is cancelled, and the desk is free on every map.

The answer's link holds a signed token naming the booking and its person: the link is its
own credential (a push's button posts it without a session), good until the booking ends.
The answers are carried out by ``server.bookings.answers``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from server.auth.models import User
from server.bookings.mail import WHY, texts
from server.bookings.models import Booking
from server.calendar.dates import from_ms
from server.clock import now_utc
from server.i18n import DEFAULT, N_, gettext
from server.notify.service import Action, Message, Recipient, notifying, send

_WHAT = {"desk": N_("Desk {space}"), "room": N_("Room {space}")}
LINK_PATH = "/r"
"""Where an answer's link leads (server.web.remind serves it)."""


def deadline(booking: Booking, grace_ms: int) -> int:
    """Until when the booking waits for its person: the grace, or longer if they are coming."""
    return max(booking.start_ms + grace_ms, booking.held_until_ms or 0)


def tell(session: Session, booking: Booking, kind: str, tz: ZoneInfo) -> list[str]:
    """Tell the booking's person of ``kind`` (confirmed, reminder, released); the channels."""
    user = session.get(User, booking.user_id) if booking.user_id is not None else None
    if user is None:
        return []
    lang = user.language or DEFAULT
    subject, body = texts(booking, kind, tz)
    found = notifying(session)
    base = found.public_url.rstrip("/") if found else ""
    what = gettext(lang, _WHAT.get(booking.space_kind, "{space}")).format(space=booking.space_code)
    start = from_ms(booking.start_ms, tz)
    when = f"{start:%d-%m %H:%M} {start.tzname()}"
    actions: tuple[Action, ...] = ()
    if kind == "reminder":
        title = gettext(lang, "Check in soon: {what}").format(what=what)
        text = gettext(
            lang, "Nobody has checked in yet ({when}). Coming? Otherwise release it for others."
        ).format(when=when)
        if found is not None:
            link = found.link(LINK_PATH, {"b": booking.id, "u": user.uid})
            actions = (
                Action("coming", gettext(lang, "I am coming"), f"{link}?action=coming"),
                Action("release", gettext(lang, "Release it"), f"{link}?action=release"),
            )
            body += (
                f"\n\n{gettext('id', 'I am coming')} / I am coming: {link}"
                f"\n{gettext('id', 'Release it')} / Release it: {link}"
            )
    elif kind == "released":
        why_id, why_en = WHY.get(booking.outcome or "", ("dilepas", "released"))
        title = gettext(lang, "Released: {what}").format(what=what)
        text = gettext(lang, "{when}: {why}. The booking record is kept.").format(
            when=when, why=why_id if lang == "id" else why_en
        )
    else:
        title = gettext(lang, "Booked: {what}").format(what=what)
        text = when
    message = Message(
        key=f"{kind}:{booking.id}",
        title=title,
        body=text,
        url=f"{base}/app",
        actions=actions,
        mail_subject=subject,
        mail_body=body,
    )
    only = ("mail",) if kind == "confirmed" else None
    recipient = Recipient(user.id, user.email)
    return send(session, user=recipient, message=message, local=now_utc().astimezone(tz), only=only)
