"""Personal data: the inventory, your export and attendance, and requests to anonymise or erase."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from server.api.deps import Anyone, DatabaseDep, Language, PeopleAdmin, Public, ServicesDep
from server.calendar.dates import Day, today_in
from server.clock import now_ms
from server.exceptions import QueryError
from server.privacy import subject
from server.privacy.notice import NoticeEntry, entries
from server.privacy.retention import last_runs
from server.privacy.schemas import (
    Attendance,
    PrivacyDecision,
    PrivacyRequestCreate,
    PrivacyRequestPublic,
    RequestState,
)

router = APIRouter(prefix="/api/v1", tags=["privacy"])
# Request ids are 32-bit in every database: a larger number names no request.
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The request's number.")]
Reason = Annotated[str | None, Query(max_length=300, description="Why (recorded in the audit log)")]


def _span(start: date | None, end: date | None, tz: ZoneInfo) -> tuple[date, date]:
    last = end or today_in(tz)
    first = start or last - timedelta(days=89)
    if first > last or (last - first).days > 731:
        raise QueryError("start must not be after end, and the span at most two years")
    return first, last


@router.get("/privacy", dependencies=[Public])
async def inventory(services: ServicesDep, lang: Language) -> list[NoticeEntry]:
    """What personal data is held, why, who sees it, how long, and when that was enforced.

    The privacy notice's content, in the caller's language; no sign-in needed.
    """
    runs = await run_in_threadpool(last_runs, services.retention.ctx)
    return entries(services.settings, runs, lang)


@router.get("/me/data")
async def my_data(user: Anyone, services: ServicesDep, lang: Language) -> Response:
    """Everything held about you, as a JSON file (the export is audited)."""
    data = await subject.export(
        services.retention.ctx, services.settings, user.username, lang, now_ms()
    )
    label = re.sub(r"[^a-z0-9._-]", "-", user.username.lower())  # a header is ASCII
    today = today_in(services.db.zone)
    name = f"smartoffice-{label}-{today.isoformat()}.json"
    return Response(
        json.dumps(data, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/me/attendance", response_model=Attendance)
def my_attendance(
    user: Anyone, db: DatabaseDep, start: Day | None = None, end: Day | None = None
) -> Attendance:
    """Your bookings and what became of them (default: the last 90 days)."""
    first, last = _span(start, end, db.zone)
    with db.session(commit=False) as session:
        return subject.attendance(session, username=user.username, start=first, end=last)


@router.get("/users/{username}/attendance", response_model=Attendance)
def person_attendance(
    username: str,
    user: Anyone,
    db: DatabaseDep,
    reason: Reason = None,
    start: Day | None = None,
    end: Day | None = None,
) -> Attendance:
    """One person's attendance: theirs, or an administrator's stating a reason (audited)."""
    first, last = _span(start, end, db.zone)
    with db.session() as session:
        return subject.attendance_for(
            session, actor=user, username=username, start=first, end=last, reason=reason
        )


@router.get("/me/privacy-requests", response_model=list[PrivacyRequestPublic])
def my_requests(user: Anyone, db: DatabaseDep) -> list[PrivacyRequestPublic]:
    """Your requests and what became of them."""
    with db.session(commit=False) as session:
        return subject.requests(session, username=user.username)


@router.post("/me/privacy-requests", response_model=PrivacyRequestPublic, status_code=201)
def make_request(new: PrivacyRequestCreate, user: Anyone, db: DatabaseDep) -> PrivacyRequestPublic:
    """Ask for your history to be anonymised, or your account erased (an admin carries it out)."""
    with db.session() as session:
        return subject.make_request(session, actor=user, new=new, now_ms=now_ms())


@router.delete("/me/privacy-requests/{request_id}", response_model=PrivacyRequestPublic)
def withdraw_request(request_id: RequestId, user: Anyone, db: DatabaseDep) -> PrivacyRequestPublic:
    """Take back your open request."""
    with db.session() as session:
        return subject.withdraw(session, actor=user, request_id=request_id, now_ms=now_ms())


@router.get("/privacy/requests", response_model=list[PrivacyRequestPublic])
def all_requests(
    admin: PeopleAdmin, db: DatabaseDep, state: RequestState | None = None
) -> list[PrivacyRequestPublic]:
    """Everyone's requests, newest first (admins; an agency's administrator, its people's)."""
    with db.session(commit=False) as session:
        return subject.requests(session, state=state, actor=admin)


@router.post("/privacy/requests/{request_id}/decision", response_model=PrivacyRequestPublic)
def decide(
    request_id: RequestId, decision: PrivacyDecision, admin: PeopleAdmin, db: DatabaseDep
) -> PrivacyRequestPublic:
    """Carry a request out, or refuse it saying why (admins; audited)."""
    with db.session() as session:
        return subject.decide(
            session, admin=admin, request_id=request_id, decision=decision, now_ms=now_ms()
        )
