"""What each category of personal data does for the retention job, an export and an erasure.

The inventory (server.privacy.inventory) names these per category. Relational work runs
on a session (SQLite or PostgreSQL alike); the reading stores' on the ReadingStore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.audit.models import AuditEntry
from server.auth.models import LoginFailure, User, WebSession
from server.bookings.models import ACTIVE, FINISHED, Booking
from server.db import Database
from server.energy.models import RollupState
from server.notify.models import (
    MailMessage,
    NotifyPrefs,
    PushMessage,
    PushSubscription,
    SentNotice,
)
from server.plans.models import PlanDay, WorkPlan
from server.privacy.models import PrivacyRequest
from server.readings.store import ReadingStore, SpaceFilter

DAY_MS = 86_400_000
DeskBooking = tuple[str, str, int, int]
"""A desk booking someone sat at: (building, desk, start ms, end ms)."""


@dataclass(frozen=True, slots=True)
class Context:
    """Where personal data lives: the relational database and the reading store."""

    db: Database
    store: ReadingStore
    raw_retention_days: int


def _count(result: Any) -> int:
    """How many rows a DELETE or UPDATE touched."""
    return int(result.rowcount or 0)


def iso(ms: int | None) -> str | None:
    """Epoch ms as an ISO time in UTC (exports carry the zone)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms is not None else None


# ---- retention: each returns how many rows went (None: the store does not count) ------


def expire_bookings(session: Session, cutoff_ms: int) -> int:
    """Finished bookings that ended before the cutoff no longer name their person."""
    return anonymise_bookings(
        session,
        Booking.user_id.is_not(None),
        Booking.state.in_(FINISHED),
        Booking.end_ms < cutoff_ms,
    )


def anonymise_bookings(session: Session, *where: Any) -> int:
    """Remove the person from the bookings matching ``where``; desk, times, outcome stay."""
    done = session.execute(
        update(Booking)
        .where(*where)
        .values(user_id=None, booked_by="", checked_in_actor=None, series_id=None)
        .execution_options(synchronize_session=False)
    )
    return _count(done)


def expire_plan_days(session: Session, cutoff_ms: int) -> int:
    """Days of work plans set otherwise than the week, for days before the cutoff, go."""
    cutoff = datetime.fromtimestamp(cutoff_ms / 1000, UTC).date().isoformat()
    return _count(session.execute(delete(PlanDay).where(PlanDay.day < cutoff)))


def expire_notices(session: Session, cutoff_ms: int) -> int:
    """Sent pushes and the record of what each person was told, older than the cutoff, go."""
    sent = session.execute(delete(SentNotice).where(SentNotice.sent_ms < cutoff_ms))
    pushed = session.execute(delete(PushMessage).where(PushMessage.created_ms < cutoff_ms))
    return _count(sent) + _count(pushed)


def expire_mail(session: Session, cutoff_ms: int) -> int:
    """Mail queued before the cutoff, sent or not, is deleted."""
    gone = session.execute(delete(MailMessage).where(MailMessage.created_ms < cutoff_ms))
    return _count(gone)


def expire_audit(session: Session, cutoff_ms: int) -> int:
    """Audit entries from before the cutoff are deleted."""
    gone = session.execute(delete(AuditEntry).where(AuditEntry.at_ms < cutoff_ms))
    return _count(gone)


def expire_requests(session: Session, cutoff_ms: int) -> int:
    """Privacy requests decided before the cutoff are deleted (open ones stay)."""
    gone = session.execute(
        delete(PrivacyRequest).where(
            PrivacyRequest.state != "open", PrivacyRequest.decided_ms < cutoff_ms
        )
    )
    return _count(gone)


def expire_logins(session: Session, cutoff_ms: int) -> int:
    """Failed sign-ins from before the cutoff, and sessions that ended before it."""
    failures = session.execute(delete(LoginFailure).where(LoginFailure.at_ms < cutoff_ms))
    sessions = session.execute(delete(WebSession).where(WebSession.expires_ms < cutoff_ms))
    return _count(failures) + _count(sessions)


async def expire_raw(ctx: Context, cutoff_ms: int) -> int | None:
    """Raw readings before the cutoff, but never what is not rolled up yet."""

    def rolled() -> int | None:
        with ctx.db.session(commit=False) as s:
            return s.scalar(select(func.min(RollupState.done_until_ms)))

    done = await run_in_threadpool(rolled)
    return await ctx.store.expire(min(cutoff_ms, done) if done is not None else cutoff_ms)


async def expire_presence_hours(ctx: Context, cutoff_ms: int) -> int | None:
    """Hourly occupancy per desk before the cutoff."""
    return await ctx.store.expire_rollups("presence", cutoff_ms)


# ---- export: each gives a person's records of the category ----------------------------


def export_account(session: Session, user: User) -> list[dict[str, Any]]:
    """The account itself (secrets only as whether they are set)."""
    return [
        {
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email,
            "team": user.team,
            "agency": user.agency_id,
            "role": user.role,
            "source": user.source,
            "active": user.active,
            "created": iso(user.created_ms),
            "last_login": iso(user.last_login_ms),
            "language": user.language,
            "share_location": user.share_location,
            "buildings": user.buildings,
            "password_set": user.password_hash is not None,
            "calendar_feed_set": user.feed_sha256 is not None,
            "identity_provider": user.oidc_issuer,
            "identity_provider_subject": user.oidc_subject,
        }
    ]


def export_bookings(session: Session, user: User) -> list[dict[str, Any]]:
    """Every booking of the person, and those they made for someone else (without them)."""
    rows = session.scalars(
        select(Booking)
        .where(or_(Booking.user_id == user.id, Booking.booked_by == user.username))
        .order_by(Booking.start_ms)
    )
    return [
        {
            "id": b.id,
            "building": b.building_id,
            "space": b.space_code,
            "kind": b.space_kind,
            "yours": b.user_id == user.id,
            "booked_by_you": b.booked_by == user.username,
            "start": iso(b.start_ms),
            "end": iso(b.end_ms),
            "state": b.state,
            "outcome": b.outcome,
            "created": iso(b.created_ms),
            "checked_in": iso(b.checked_in_ms),
            "checked_in_by": b.checked_in_by,
            "checked_out": iso(b.checked_out_ms),
            "released": iso(b.released_ms),
            "release_reason": b.release_reason,
        }
        for b in rows
    ]


def export_mail(session: Session, user: User) -> list[dict[str, Any]]:
    """Mail to the person's address still kept."""
    if not user.email:
        return []
    rows = session.scalars(select(MailMessage).where(MailMessage.to == user.email))
    return [
        {
            "to": m.to,
            "subject": m.subject,
            "body": m.body,
            "queued": iso(m.created_ms),
            "sent": iso(m.sent_ms),
        }
        for m in rows
    ]


def export_plans(session: Session, user: User) -> list[dict[str, Any]]:
    """The person's usual week and the days they planned otherwise."""
    out: list[dict[str, Any]] = []
    week = session.get(WorkPlan, user.id)
    if week is not None:
        out.append(
            {
                "week": week.week.split(","),
                "building": week.building_id,
                "book_ahead_days": week.book_ahead_days,
                "updated": iso(week.updated_ms),
            }
        )
    for row in session.scalars(
        select(PlanDay).where(PlanDay.user_id == user.id).order_by(PlanDay.day)
    ):
        out.append({"day": row.day, "place": row.place, "note": row.note})
    return out


def export_notifications(session: Session, user: User) -> list[dict[str, Any]]:
    """The person's channels and quiet hours, their browsers, and what they were told."""
    out: list[dict[str, Any]] = []
    prefs = session.get(NotifyPrefs, user.id)
    if prefs is not None:
        out.append(
            {
                "mail": prefs.mail,
                "push": prefs.push,
                "morning": prefs.morning,
                "quiet_from_minute": prefs.quiet_from,
                "quiet_to_minute": prefs.quiet_to,
            }
        )
    for sub in session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id)):
        out.append({"browser": sub.endpoint, "since": iso(sub.created_ms)})
    for told in session.scalars(
        select(SentNotice).where(SentNotice.user_id == user.id).order_by(SentNotice.sent_ms)
    ):
        out.append({"told": told.key, "at": iso(told.sent_ms)})
    return out


def export_audit(session: Session, user: User) -> list[dict[str, Any]]:
    """Audit entries the person made, and those about them or their account."""
    rows = session.scalars(
        select(AuditEntry)
        .where(
            or_(
                AuditEntry.actor == user.username,
                (AuditEntry.target_kind.in_(("user", "person")))
                & (AuditEntry.target_id == user.username),
            ),
            # Entries name people by their username, which an erasure frees for someone
            # else: what was written before this account was made is another person's.
            AuditEntry.at_ms >= user.created_ms,
        )
        .order_by(AuditEntry.at_ms)
    )
    return [
        {
            "at": iso(e.at_ms),
            "actor": e.actor,
            "action": e.action,
            "target": f"{e.target_kind} {e.target_id}",
            "detail": json.loads(e.detail),
        }
        for e in rows
    ]


def export_logins(session: Session, user: User) -> list[dict[str, Any]]:
    """Failed sign-ins under the person's name, and their browser sessions (no secrets)."""
    failures = session.scalars(
        select(LoginFailure).where(
            LoginFailure.username == user.username, LoginFailure.at_ms >= user.created_ms
        )
    )
    sessions = session.scalars(select(WebSession).where(WebSession.user_id == user.id))
    return [{"failed_sign_in": iso(f.at_ms), "address": f.address} for f in failures] + [
        {"session_started": iso(w.created_ms), "session_ends": iso(w.expires_ms)} for w in sessions
    ]


def export_requests(session: Session, user: User) -> list[dict[str, Any]]:
    """The person's privacy requests and what became of them."""
    rows = session.scalars(select(PrivacyRequest).where(PrivacyRequest.user_uid == user.uid))
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "note": r.note,
            "state": r.state,
            "made": iso(r.created_ms),
            "decided": iso(r.decided_ms),
            "decided_by": r.decided_by,
            "answer": r.answer,
        }
        for r in rows
    ]


async def export_presence(
    ctx: Context, bookings: list[DeskBooking], now_ms: int
) -> list[dict[str, Any]]:
    """What the desk's sensor saw during each of the person's desk bookings still held raw.

    ``bookings`` are (building, desk, start, end); readings older than the raw retention
    are gone (rollups keep only hourly sums per desk, which name nobody).
    """
    since = now_ms - ctx.raw_retention_days * DAY_MS if ctx.raw_retention_days else 0
    out: list[dict[str, Any]] = []
    for building, desk, start, end in bookings:
        if end <= since:
            continue
        points = await ctx.store.points(
            stream="presence",
            fields=["occupied"],
            start_ms=max(start, since),
            end_ms=end,
            where=SpaceFilter(building=building, space=desk),
        )
        out += [
            {
                "building": building,
                "desk": desk,
                "at": iso(p.ts_ms),
                "occupied": bool(p.fields.get("occupied")),
            }
            for p in points
        ]
    return out


def desk_bookings(session: Session, user: User) -> list[DeskBooking]:
    """The person's desk bookings someone sat at: (building, desk, start, end)."""
    rows = session.execute(
        select(Booking.building_id, Booking.space_code, Booking.start_ms, Booking.end_ms).where(
            Booking.user_id == user.id,
            Booking.space_kind == "desk",
            Booking.checked_in_ms.is_not(None),
        )
    )
    return [(b, d, s, e) for b, d, s, e in rows]


# ---- erasure ---------------------------------------------------------------------------


def end_active(session: Session, user: User, now_ms: int) -> int:
    """The person's bookings still running or to come end now (cancelled or completed)."""
    rows = session.scalars(
        select(Booking).where(Booking.user_id == user.id, Booking.state.in_(ACTIVE))
    ).all()
    for b in rows:
        if b.state == "checked_in":
            b.state, b.outcome, b.checked_out_ms = "completed", b.outcome or "attended", now_ms
        else:
            b.state, b.outcome, b.released_ms = "cancelled", "cancelled", now_ms
    return len(rows)


def erase_bookings(session: Session, user: User, finished_only: bool) -> int:
    """The person is removed from their bookings, and from those they made or checked in."""
    mine = [Booking.user_id == user.id]
    if finished_only:
        mine.append(Booking.state.in_(FINISHED))
    n = anonymise_bookings(session, *mine)
    if not finished_only:
        session.execute(
            update(Booking)
            .where(Booking.booked_by == user.username)
            .values(booked_by="")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Booking)
            .where(Booking.checked_in_actor == user.username)
            .values(checked_in_actor=None)
            .execution_options(synchronize_session=False)
        )
    return n


def erase_mail(session: Session, user: User) -> int:
    """Mail to the person's address is deleted."""
    if not user.email:
        return 0
    gone = session.execute(delete(MailMessage).where(MailMessage.to == user.email))
    return _count(gone)


def erase_plans(session: Session, user: User) -> int:
    """The person's work plan and planned days are deleted."""
    days = session.execute(delete(PlanDay).where(PlanDay.user_id == user.id))
    week = session.execute(delete(WorkPlan).where(WorkPlan.user_id == user.id))
    return _count(days) + _count(week)


def erase_notifications(session: Session, user: User) -> int:
    """The person's choices, browsers (and their pushes) and what they were told go."""
    gone = session.execute(delete(SentNotice).where(SentNotice.user_id == user.id))
    subs = session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))
    prefs = session.execute(delete(NotifyPrefs).where(NotifyPrefs.user_id == user.id))
    return _count(gone) + _count(subs) + _count(prefs)


def erase_logins(session: Session, user: User) -> int:
    """Failed sign-ins under the person's name and their sessions are deleted."""
    failures = session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    sessions = session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return _count(failures) + _count(sessions)


def erase_account(session: Session, user: User) -> int:
    """The account is deleted (a provider's account is made again at its next sign-in)."""
    session.delete(user)
    return 1
