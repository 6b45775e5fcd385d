"""My bookings and my profile.

Cancel a booking, or take its calendar file; choose the language, the colleague finder
and the secret calendar feed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from server.agencies import service as agencies
from server.api.bookings import BookingId
from server.api.deps import DatabaseDep, Public, SettingsDep
from server.auth import notifications
from server.auth.notifications import NotifyDoc
from server.auth.schemas import Preferences
from server.auth.service import Principal, preferences, set_preferences
from server.bookings import ics
from server.bookings import service as bookings
from server.bookings.schemas import BookingPublic
from server.clock import now_utc
from server.i18n import LANGUAGES, gettext
from server.plans import service as plans
from server.web import notices
from server.web.browser import Person, PersonForm
from server.web.render import LANG_COOKIE, ROLES, page_language, render
from server.web.words import OUTCOMES, STATES, translated

router = APIRouter(include_in_schema=False)


def _host(settings: SettingsDep) -> str:
    """The name calendar entries are made under: the configured public address's host."""
    return urlsplit(settings.public_url).hostname or "smartoffice"


@router.get("/app/bookings")
async def my_bookings(request: Request, person: Person, db: DatabaseDep) -> Response:
    """My bookings to come (cancel, calendar file) and the last 30 days."""
    user = person.user
    lang = page_language(request, user)
    now = now_utc()

    def read() -> list[BookingPublic]:
        with db.session(commit=False) as session:
            return bookings.bookings(session, actor=user)

    rows = await run_in_threadpool(read)
    coming = [b for b in rows if b.end > now and b.state in ("booked", "checked_in")]
    past = [b for b in rows if b.end <= now and b.start > now - timedelta(days=30)][::-1]
    return render(
        request,
        "bookings.html",
        user=user,
        csrf=person.csrf,
        coming=coming,
        past=past,
        states=translated(lang, STATES),
        outcomes=translated(lang, OUTCOMES),
    )


@router.post("/app/bookings/{booking_id}/cancel")
async def cancel_booking(
    request: Request, booking_id: BookingId, person: PersonForm, db: DatabaseDep
) -> Response:
    """Cancel one of my bookings (the page asked for a confirmation first)."""

    def act() -> None:
        with db.session() as session:
            bookings.cancel(session, actor=person.user, booking_id=booking_id)

    await run_in_threadpool(act)
    said = gettext(page_language(request, person.user), "The booking is cancelled.")
    return notices.redirect(request, "/app/bookings", said)


@router.get("/app/bookings/{booking_id}.ics")
async def booking_ics(
    booking_id: BookingId, person: Person, db: DatabaseDep, request: Request, settings: SettingsDep
) -> Response:
    """One booking as a calendar file."""
    lang = page_language(request, person.user)

    def read() -> BookingPublic:
        with db.session(commit=False) as session:
            row, tz = bookings.get(session, actor=person.user, booking_id=booking_id)
            return bookings.public(row, tz)

    b = await run_in_threadpool(read)
    body = ics.calendar([b], lang=lang, host=_host(settings))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="booking-{b.id}.ics"'},
    )


def _facts(session: Any, person: Principal) -> dict[str, Any]:
    prefs = preferences(session, person.username)
    agency = person.agency
    return {
        "share_location": bool(prefs["share_location"]),
        "chosen_language": prefs["language"],
        "has_feed": ics.has_feed(session, person.username),
        "agency": agencies.agency(session, agency) if agency else None,
        "notify": notifications.choices(session, person.username),
        "push_on": notifications.push_on(session),
    }


def _profile(request: Request, person: Any, facts: dict[str, Any], **values: Any) -> Response:
    lang = page_language(request, person.user)
    return render(
        request,
        "profile.html",
        user=person.user,
        csrf=person.csrf,
        roles=translated(lang, ROLES),
        **facts,
        **values,
    )


@router.get("/app/profile")
async def profile(request: Request, person: Person, db: DatabaseDep) -> Response:
    """Language, the colleague finder opt-in, the calendar feed."""

    def read() -> dict[str, Any]:
        with db.session(commit=False) as session:
            return _facts(session, person.user)

    return _profile(request, person, await run_in_threadpool(read), feed_url=None)


@router.post("/app/profile")
async def save_profile(
    request: Request,
    person: PersonForm,
    db: DatabaseDep,
    language: Annotated[str, Form(max_length=8)] = "auto",
    share_location: Annotated[bool, Form()] = False,
) -> Response:
    """Keep the person's choices."""
    choice = language if language in (*LANGUAGES, "auto") else "auto"
    prefs = Preferences.model_validate({"share_location": share_location, "language": choice})

    def keep() -> None:
        with db.session() as session:
            set_preferences(session, username=person.user.username, prefs=prefs)

    await run_in_threadpool(keep)
    shown = choice if choice != "auto" else page_language(request, None)
    response = notices.redirect(request, "/app/profile", gettext(shown, "Saved."))
    if choice != "auto":
        response.set_cookie(
            LANG_COOKIE,
            choice,
            max_age=365 * 86400,
            samesite="lax",
            path="/",
            secure=request.url.scheme == "https",
        )
    else:
        response.delete_cookie(LANG_COOKIE, path="/")
    return response


@router.post("/app/profile/feed")
async def calendar_feed(
    request: Request,
    person: PersonForm,
    db: DatabaseDep,
    settings: SettingsDep,
    action: Annotated[str, Form(pattern="^(new|revoke)$")],
) -> Response:
    """Make a new secret calendar address (shown once), or turn it off."""
    lang = page_language(request, person.user)

    def change() -> tuple[str | None, dict[str, Any]]:
        with db.session() as session:
            secret = ics.new_feed(session, person.user.username) if action == "new" else None
            if action == "revoke":
                ics.revoke_feed(session, person.user.username)
            session.flush()
            return secret, _facts(session, person.user)

    secret, facts = await run_in_threadpool(change)
    # From the configured public address, never the request's Host header: a link made
    # here is pasted into other programs and must lead back to this server.
    url = f"{settings.public_url.rstrip('/')}/calendar/{secret}.ics" if secret else None
    said = gettext(lang, "The calendar address is turned off.") if action == "revoke" else None
    return _profile(request, person, facts, feed_url=url, notice=said)


@router.get("/calendar/{secret}.ics", name="feed", dependencies=[Public])
async def feed(secret: str, db: DatabaseDep, settings: SettingsDep) -> Response:
    """A person's bookings and planned office, travel and leave days as a calendar.

    The secret is the key.
    """

    def read() -> tuple[str, list[BookingPublic], list[tuple[date, str, str]]] | None:
        with db.session(commit=False) as session:
            found = ics.feed_bookings(session, secret)
            if found is None:
                return None
            owner, lang, rows = found
            days = plans.calendar_days(session, actor=owner, language=lang)
            return lang, rows, days

    found = await run_in_threadpool(read)
    if found is None:
        return Response(
            "no such calendar (the address was replaced or turned off)\n",
            status_code=404,
            media_type="text/plain",
        )
    lang, rows, days = found
    body = ics.calendar(rows, lang=lang, host=_host(settings), days=days)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


class NotifyForm(BaseModel):
    """The notification choices as the profile's form sends them."""

    mail: bool = False
    push: bool = False
    morning: bool = False
    quiet_from: str = Field(default="", max_length=5)
    quiet_to: str = Field(default="", max_length=5)


@router.post("/app/profile/notifications")
async def save_notifications(
    request: Request,
    person: PersonForm,
    db: DatabaseDep,
    form: Annotated[NotifyForm, Form()],
) -> Response:
    """Keep the person's channels and quiet hours (the same service as the API)."""
    lang = page_language(request, person.user)
    if bool(form.quiet_from) != bool(form.quiet_to):
        said = gettext(lang, "Give both ends of the quiet hours, or neither.")
        return notices.redirect(request, "/app/profile", said, "error")
    doc = NotifyDoc.model_validate(
        {
            "mail": form.mail,
            "push": form.push,
            "morning": form.morning,
            "quiet_from": form.quiet_from or None,
            "quiet_to": form.quiet_to or None,
        }
    )

    def keep() -> None:
        with db.session() as session:
            notifications.choose(session, username=person.user.username, doc=doc)

    await run_in_threadpool(keep)
    return notices.redirect(request, "/app/profile", gettext(lang, "Saved."))
