"""The morning summary: on an office day, each person is told where they work and their desk.

Sent from ``SMARTOFFICE_MORNING_SUMMARY_MINUTE`` (06:30) in the person's office's time, by
the notification service (each channel they keep on, once a day, never in quiet hours),
to those who keep the summary on and whose plan, or a desk booking, says office today.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.models import User
from server.bookings.models import ACTIVE, Booking
from server.calendar.dates import day_start, from_ms, to_ms
from server.clock import now_utc
from server.db import Database
from server.i18n import DEFAULT, T, gettext, say
from server.notify.models import SentNotice
from server.notify.service import Message, Recipient, notifying, prefs_of, send
from server.plans.models import WorkPlan
from server.plans.schemas import OFFICE, PLACE_NAMES
from server.plans.service import days_of, place_on, week_of, zone_of_person


def summarise(session: Session, user: User, now: datetime, from_minute: int) -> list[str]:
    """Tell ``user`` their office day if it is one and the summary's time has come."""
    row = session.get(WorkPlan, user.id)
    if row is None or not prefs_of(session, user.id).morning:
        return []
    tz = zone_of_person(session, user, row)
    local = now.astimezone(tz)
    if local.hour * 60 + local.minute < from_minute:
        return []
    today = local.date()
    key = f"morning:{today.isoformat()}"
    if session.get(SentNotice, (user.id, key)) is not None:
        return []
    place = place_on(week_of(row), days_of(session, user, today, today), today)
    if place not in OFFICE:
        return []
    lang = user.language or DEFAULT
    booking = session.scalar(
        select(Booking)
        .where(
            Booking.user_id == user.id,
            Booking.space_kind == "desk",
            Booking.state.in_(ACTIVE),
            Booking.start_ms >= to_ms(day_start(today, tz)),
            Booking.start_ms < to_ms(day_start(today + timedelta(days=1), tz)),
        )
        .order_by(Booking.start_ms)
    )
    where = say(T(PLACE_NAMES[place]), lang)
    if booking is not None:
        start, end = from_ms(booking.start_ms, tz), from_ms(booking.end_ms, tz)
        desk = gettext(lang, "Desk {desk}, {start}-{end}").format(
            desk=booking.space_code, start=f"{start:%H:%M}", end=f"{end:%H:%M}"
        )
    else:
        desk = gettext(lang, "no desk booked yet")
    found = notifying(session)
    base = found.public_url.rstrip("/") if found else ""
    message = Message(
        key=key,
        title=gettext(lang, "Today: {where}").format(where=where),
        body=desk,
        url=f"{base}/app",
    )
    return send(session, user=Recipient(user.id, user.email), message=message, local=local)


def mornings(db: Database, from_minute: int, now: datetime | None = None) -> int:
    """Send the due morning summaries; how many people were told."""
    now = now or now_utc()
    with db.session(commit=False) as session:
        ids = session.scalars(
            select(WorkPlan.user_id)
            .join(User, User.id == WorkPlan.user_id)
            .where(User.active)
            .order_by(WorkPlan.user_id)
        ).all()
    told = 0
    for start in range(0, len(ids), 200):
        with db.session() as session:
            for user in session.scalars(select(User).where(User.id.in_(ids[start : start + 200]))):
                told += bool(summarise(session, user, now, from_minute))
    return told
