"""Today's page: my booking of today and what to do next, my next bookings, my team today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from server.api.deps import DatabaseDep
from server.bookings import service as bookings
from server.bookings.schemas import BookingPublic
from server.calendar.dates import checkin_opens_at
from server.calendar.policy import policy_for
from server.clock import now_utc
from server.i18n import gettext
from server.web.browser import Person
from server.web.render import page_language, render
from server.web.words import STATES

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class TodayBooking:
    """A booking of today with what it means for the person now."""

    booking: BookingPublic
    step: str
    label: str
    icon: str
    next: str
    checkin_url: str | None


def step(lang: str, b: BookingPublic, now: datetime, grace_min: int) -> TodayBooking:
    """Where today's booking stands and what to do next, in words."""

    def _(message: str) -> str:
        return gettext(lang, message)

    def hm(t: datetime) -> str:
        return t.astimezone(b.start.tzinfo).strftime("%H:%M")

    opens = checkin_opens_at(b.start)
    deadline = b.start + timedelta(minutes=grace_min)
    where = f"/checkin/{b.building}/{b.space}" if b.space_kind == "desk" else None
    if b.state == "checked_in":
        since = hm(b.checked_in or b.start)
        text = _("You are checked in since {time}. Have a good day.").format(time=since)
        return TodayBooking(b, "checked_in", _("Checked in"), "✓", text, None)
    if b.state == "released":
        text = _("Released: nobody checked in in time, so the desk went back to others.")
        return TodayBooking(b, "released", _("Released"), "×", text, None)
    if b.state in ("completed", "cancelled"):
        return TodayBooking(b, b.state, _(STATES[b.state]), "–", _("This booking is over."), None)
    if now < opens:
        text = _(
            "Check-in opens at {time}. Sit down at the desk and its sensor checks you in, or "
            "scan the QR code on the desk."
        ).format(time=hm(opens))
        return TodayBooking(b, "booked", _("Booked"), "○", text, None)
    text = _(
        "Sit down at desk {desk} or scan its QR code before {time}; otherwise the booking is "
        "released for others."
    ).format(desk=b.space, time=hm(deadline))
    return TodayBooking(b, "awaiting", _("Awaiting check-in"), "!", text, where)


@router.get("/app")
async def today(request: Request, person: Person, db: DatabaseDep) -> Response:
    """My booking today, what to do next, my next bookings, my team today."""
    user = person.user
    lang = page_language(request, user)
    now = now_utc().astimezone(db.zone)

    def read() -> tuple[list[TodayBooking], list[BookingPublic], list[dict[str, object]]]:
        with db.session(commit=False) as session:
            mine = [
                b
                for b in bookings.bookings(session, actor=user)
                if b.end > now and b.state != "cancelled"
            ]
            todays, later = [], []
            for b in mine:
                if b.start.date() == now.astimezone(b.start.tzinfo).date():
                    policy = policy_for(session, b.building, None, person.user.agency)
                    todays.append(step(lang, b, now, policy.checkin_grace_minutes))
                elif b.state == "booked":
                    later.append(b)
            team = bookings.colleagues(session, actor=user, day=now.date())
            return todays, later[:5], team

    todays, later, team = await run_in_threadpool(read)
    return render(
        request,
        "today.html",
        user=user,
        csrf=person.csrf,
        now=now,
        today=todays,
        upcoming=later,
        colleagues=team,
    )
