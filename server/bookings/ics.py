"""Bookings as iCalendar (RFC 5545): one booking's file, and a person's secret feed.

The feed's address holds a random secret; only its hash is kept (``users.feed_sha256``),
so the address is shown once, and making a new one or turning it off ends the old one.
Outlook, Google Calendar and Thunderbird subscribe to such an address and poll it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, date, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.models import User
from server.auth.service import Principal
from server.bookings import service
from server.bookings.schemas import BookingPublic
from server.clock import now_utc
from server.exceptions import NotFoundError
from server.i18n import DEFAULT, N_, gettext

PAST_DAYS = 30
"""How far back a feed reaches (its future is every booking still to come)."""

_WHAT = {"desk": N_("Desk {space}"), "room": N_("Room {space}")}
_STATUS = {
    "booked": "CONFIRMED",
    "checked_in": "CONFIRMED",
    "completed": "CONFIRMED",
    "released": "CANCELLED",
    "cancelled": "CANCELLED",
}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def calendar(
    rows: Iterable[BookingPublic],
    *,
    lang: str,
    host: str,
    days: Iterable[tuple[date, str, str]] = (),
) -> bytes:
    """An iCalendar document of ``rows`` (times with their zone, as UTC).

    ``days``: all-day events (the day, a key unique to the person and day, the summary),
    e.g. a work plan's office and leave days.
    """
    cal = Calendar()
    cal.add("prodid", "-//IKN Smart Office//bookings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", gettext(lang, "My desk bookings"))
    stamp = now_utc()
    for b in rows:
        event = Event()
        event.add("uid", f"booking-{b.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", b.start.astimezone(UTC))
        event.add("dtend", b.end.astimezone(UTC))
        event.add(
            "summary", gettext(lang, _WHAT.get(b.space_kind, "{space}")).format(space=b.space)
        )
        event.add("location", f"{b.building} · {b.space}")
        event.add("status", _STATUS.get(b.state, "CONFIRMED"))
        event.add(
            "description",
            gettext(
                lang,
                "Check in at the desk (its sensor sees you) or by its QR code. "
                "A booking nobody checks in to is released for others.",
            ),
        )
        cal.add_component(event)
    for day, key, summary in days:
        event = Event()
        event.add("uid", f"{key}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", summary)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return bytes(cal.to_ical())


def new_feed(session: Session, username: str) -> str:
    """A new secret for the person's feed (the old address stops working)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    secret = secrets.token_urlsafe(24)
    user.feed_sha256 = _digest(secret)
    return secret


def revoke_feed(session: Session, username: str) -> None:
    """Turn the person's feed off."""
    user = session.scalar(select(User).where(User.username == username))
    if user is not None:
        user.feed_sha256 = None


def has_feed(session: Session, username: str) -> bool:
    """Whether the person has a feed address."""
    return bool(session.scalar(select(User.feed_sha256).where(User.username == username)))


def feed_bookings(
    session: Session, secret: str
) -> tuple[Principal, str, list[BookingPublic]] | None:
    """The feed's owner, their language and bookings (the last month and all to come)."""
    if not secret or len(secret) > 100:
        return None
    user = session.scalar(select(User).where(User.feed_sha256 == _digest(secret), User.active))
    if user is None:
        return None
    actor = Principal(username=user.username, role="employee", display_name=user.display_name)
    since = now_utc() - timedelta(days=PAST_DAYS)
    rows = [b for b in service.bookings(session, actor=actor) if b.end >= since]
    return actor, user.language or DEFAULT, rows
