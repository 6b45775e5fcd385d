"""A person's rights over their data: export, anonymise or erase, and who may see it.

Every step is audited: the export, the request, the administrator's decision, what was
carried out, and every read of one person's data by someone else (``personal.read``, with
the reason the reader gave).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.audit.service import record
from server.auth.models import User
from server.auth.service import Principal
from server.bookings.models import PRESENT, Booking
from server.bookings.visibility import audit_read, may_see_person
from server.calendar.dates import days_span, from_ms, to_ms
from server.calendar.hours import platform_zone, zone_of
from server.config import ServerSettings
from server.exceptions import ConflictError, NotFoundError
from server.i18n import T, gettext
from server.privacy import handlers as h
from server.privacy.inventory import CATEGORIES
from server.privacy.models import PrivacyRequest
from server.privacy.schemas import (
    Attendance,
    AttendanceDay,
    PrivacyDecision,
    PrivacyRequestCreate,
    PrivacyRequestPublic,
)
from server.spaces.models import Building


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(T("no user {user}", user=repr(username)))
    return user


async def export(
    ctx: h.Context, settings: ServerSettings, username: str, lang: str, now_ms: int
) -> dict[str, Any]:
    """Everything held about ``username``, by category of the inventory, as JSON data."""

    def relational() -> tuple[dict[str, Any], list[h.DeskBooking]]:
        with ctx.db.session() as s:
            user = _user(s, username)
            parts = {c.key: c.export(s, user) for c in CATEGORIES if c.export is not None}
            desks = h.desk_bookings(s, user)
            record(
                s, actor=username, action="privacy.export", target_kind="person", target_id=username
            )
            return parts, desks

    parts, desks = await run_in_threadpool(relational)
    for c in CATEGORIES:
        if c.export_store is not None:
            parts[c.key] = await c.export_store(ctx, desks, now_ms)
    return {
        "person": username,
        "made": h.iso(now_ms),
        "notice": "/privacy",
        "categories": [
            {
                "key": c.key,
                "name": gettext(lang, c.name),
                "where": gettext(lang, c.where),
                "purpose": gettext(lang, c.purpose),
                "retention_days": c.days(settings),
                "records": parts.get(c.key, []),
            }
            for c in CATEGORIES
        ],
    }


def make_request(
    session: Session, *, actor: Principal, new: PrivacyRequestCreate, now_ms: int
) -> PrivacyRequestPublic:
    """File a request; one open request per person at a time."""
    me = _user(session, actor.username)
    uid = me.uid
    open_one = session.scalar(
        select(PrivacyRequest).where(PrivacyRequest.user_uid == uid, PrivacyRequest.state == "open")
    )
    if open_one is not None:
        raise ConflictError(
            T("you already have an open request ({id}); wait for it or withdraw it", id=open_one.id)
        )
    row = PrivacyRequest(
        username=actor.username,
        user_uid=uid,
        agency_id=me.agency_id,
        kind=new.kind,
        note=new.note.strip(),
        state="open",
        created_ms=now_ms,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor.username,
        action="privacy.request",
        target_kind="privacy_request",
        target_id=str(row.id),
        kind=new.kind,
        agency=me.agency_id,
    )
    return PrivacyRequestPublic.model_validate(row)


def withdraw(
    session: Session, *, actor: Principal, request_id: int, now_ms: int
) -> PrivacyRequestPublic:
    """The person takes back their open request."""
    row = session.get(PrivacyRequest, request_id)
    if row is None or row.user_uid != _user(session, actor.username).uid:
        raise NotFoundError(T("no request {id}", id=request_id))
    if row.state != "open":
        raise ConflictError(T("request {id} is {state}", id=request_id, state=row.state))
    row.state, row.decided_ms, row.decided_by = "withdrawn", now_ms, actor.username
    record(
        session,
        actor=actor.username,
        action="privacy.withdraw",
        target_kind="privacy_request",
        target_id=str(row.id),
    )
    return PrivacyRequestPublic.model_validate(row)


def requests(
    session: Session,
    *,
    username: str | None = None,
    state: str | None = None,
    actor: Principal | None = None,
) -> list[PrivacyRequestPublic]:
    """Requests, newest first: a person's own (by account, not name), or all, or by state.

    Those ``actor`` answers: an agency's administrator, their agency's people's requests.
    """
    q = select(PrivacyRequest).order_by(PrivacyRequest.id.desc())
    if actor is not None and actor.scope is not None:
        q = q.where(PrivacyRequest.agency_id == actor.scope)
    if username is not None:
        q = q.where(PrivacyRequest.user_uid == _user(session, username).uid)
    if state is not None:
        q = q.where(PrivacyRequest.state == state)
    return [PrivacyRequestPublic.model_validate(r) for r in session.scalars(q.limit(500))]


def decide(
    session: Session, *, admin: Principal, request_id: int, decision: PrivacyDecision, now_ms: int
) -> PrivacyRequestPublic:
    """Carry out an open request, or refuse it with a reason; each step audited.

    An agency's administrator answers their agency's people's requests; another's is not
    found for them.
    """
    row = session.get(PrivacyRequest, request_id)
    if row is None or not admin.reaches(row.agency_id):
        raise NotFoundError(T("no request {id}", id=request_id))
    if row.state != "open":
        raise ConflictError(T("request {id} is {state}", id=request_id, state=row.state))
    answer = decision.answer.strip()
    if not decision.carry_out:
        if len(answer) < 10:
            raise ConflictError(T("say why the request is refused (at least 10 characters)"))
        row.state, row.answer = "refused", answer
        record(
            session,
            actor=admin.username,
            action="privacy.refuse",
            target_kind="privacy_request",
            target_id=str(row.id),
            person=row.username,
            answer=answer,
            agency=row.agency_id,
        )
    else:
        done = carry_out(session, uid=row.user_uid, kind=row.kind, now_ms=now_ms)
        row.state, row.answer = "done", answer or None
        record(
            session,
            actor=admin.username,
            action=f"privacy.{row.kind}",
            target_kind="privacy_request",
            target_id=str(row.id),
            person=row.username,
            agency=row.agency_id,
            **done,
        )
    row.decided_ms, row.decided_by = now_ms, admin.username
    return PrivacyRequestPublic.model_validate(row)


def carry_out(session: Session, *, uid: str | None, kind: str, now_ms: int) -> dict[str, int]:
    """Anonymise the person's finished bookings, or erase them altogether: what went.

    The account is found by its ``uid``: once erased, a later account given the same
    name is another person's, and nothing here reaches it.
    """
    user = session.scalar(select(User).where(User.uid == uid)) if uid else None
    if user is None:
        return {}  # erased already (by an earlier request or an admin)
    if kind == "anonymise":
        return {"bookings": h.erase_bookings(session, user, finished_only=True)}
    done = {"ended": h.end_active(session, user, now_ms)}
    session.flush()
    done["bookings"] = h.erase_bookings(session, user, finished_only=False)
    for c in CATEGORIES:
        if c.erase is not None and c.key != "account":
            done[c.key] = c.erase(session, user)
    session.flush()
    done["account"] = h.erase_account(session, user)
    return done


def attendance_for(
    session: Session,
    *,
    actor: Principal,
    username: str,
    start: date,
    end: date,
    reason: str | None,
) -> Attendance:
    """``username``'s attendance, if ``actor`` may see it (server.bookings.visibility).

    Their own, or an administrator's with a reason (audited); Forbidden otherwise.
    """
    audited = may_see_person(session, actor, username, reason)
    found = attendance(session, username=username, start=start, end=end)
    if audited:
        audit_read(
            session,
            actor=actor,
            person=username,
            reason=reason or "",
            what=f"attendance {start}..{end}",
        )
    return found


def attendance(session: Session, *, username: str, start: date, end: date) -> Attendance:
    """The person's bookings from ``start`` to ``end`` (inclusive) and what became of them."""
    user = _user(session, username)
    tz = platform_zone(session)
    s, e = (to_ms(t) for t in days_span(start, end, tz))
    rows = session.scalars(
        select(Booking)
        .where(
            Booking.user_id == user.id,
            Booking.start_ms < e,
            Booking.end_ms > s,
        )
        .order_by(Booking.start_ms)
    ).all()
    entries, days, hours = [], set(), 0.0
    for b in rows:
        began = from_ms(b.start_ms, zone_of(session.get(Building, b.building_id)))
        entries.append(
            AttendanceDay(
                day=began.date(),
                building=b.building_id,
                space=b.space_code,
                kind=b.space_kind,
                start=b.start_ms,
                end=b.end_ms,
                outcome=b.outcome,
                state=b.state,
                checked_in=b.checked_in_ms,
                checked_in_by=b.checked_in_by,
                presence=b.presence,
            )
        )
        if b.checked_in_ms is not None and b.presence in PRESENT:
            days.add(began.date())
            until = min(b.checked_out_ms or b.released_ms or b.end_ms, b.end_ms)
            hours += max(0, until - b.checked_in_ms) / 3_600_000
    outcomes = [b.outcome for b in rows]
    return Attendance(
        username=username,
        start=start,
        end=end,
        bookings=len(rows),
        attended=sum(1 for b in rows if b.checked_in_ms is not None and b.presence in PRESENT),
        unconfirmed=sum(
            1 for b in rows if b.checked_in_ms is not None and b.presence not in PRESENT
        ),
        walk_ins=outcomes.count("walk_in"),
        no_shows=outcomes.count("no_show"),
        cancelled=outcomes.count("cancelled"),
        days_in_office=len(days),
        attended_hours=round(hours, 2),
        entries=entries,
    )
