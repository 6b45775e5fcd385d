"""Booking endpoints: availability, bookings, check-in/out, and the rules (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from server.api.deps import (
    Admin,
    Anyone,
    DatabaseDep,
    Language,
    Manager,
    PeopleAdmin,
    PlaceParam,
    Reporter,
    RowId,
    SettingsDep,
    language,
    services,
)
from server.bookings import blocks, checkin, rooms, service
from server.bookings.availability import AvailabilityCache, AvailabilityQuery, DeskFilter
from server.bookings.events import EventHub, person_holder
from server.bookings.presence import DeskMonitor
from server.bookings.reports import GroupBy, UtilizationRow, as_csv, utilization
from server.bookings.rooms import RoomAvailability
from server.bookings.schemas import (
    BookingCreate,
    BookingPublic,
    BookingResult,
    DeskAvailability,
    DeskBlockDoc,
    DeskLiveState,
)
from server.calendar import admin as calendar
from server.calendar.dates import FIRST_DAY, LAST_DAY, Day, Moment, period, today_in
from server.calendar.hours import building_tz
from server.calendar.schemas import ClosedDayDoc, PolicyDoc
from server.exceptions import Refusal
from server.i18n import T, say

router = APIRouter(prefix="/api/v1", tags=["bookings"])
BookingId = RowId
"""The booking's id (a 64-bit row id: a larger one names nothing)."""


async def refusal_response(request: Request, exc: Exception) -> JSONResponse:
    """A booking rule's refusal: 409 for conflicts, 403/422 otherwise, naming the rule."""
    assert isinstance(exc, Refusal)
    return JSONResponse(
        {"detail": say(exc.args[0], language(request)), "rule": exc.rule}, status_code=exc.status
    )


@router.get("/availability", response_model=list[DeskAvailability])
async def availability(
    request: Request,
    user: Anyone,
    lang: Language,
    building: str,
    floor: str,
    start: Moment,
    end: Moment,
    zone: PlaceParam = None,
    monitor: bool | None = None,
    standing: bool | None = None,
    accessible: bool | None = None,
    quiet: bool | None = None,
) -> Response:
    """Every desk of a floor for a slot, with its state and the reason.

    States: free, booked, yours, blocked, closed, team_zone, not_bookable. Times without
    an offset are the building's local time. A change made through another server replica
    shows within ``cache_s`` (1 s).
    """
    cache: AvailabilityCache = services(request).availability
    desks = DeskFilter(zone, monitor, standing, accessible, quiet)
    ask = AvailabilityQuery(building, floor, start, end, desks)
    # Answered on the event loop when both layers are kept; else read in a worker thread.
    body = cache.kept(ask, user, lang) or await run_in_threadpool(cache.answer, ask, user, lang)
    return Response(body, media_type="application/json")


@router.get("/rooms/availability", response_model=list[RoomAvailability])
def room_availability(
    user: Anyone,
    lang: Language,
    db: DatabaseDep,
    building: str,
    start: Moment,
    end: Moment,
    floor: str | None = None,
    capacity: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> list[RoomAvailability]:
    """Meeting rooms seating at least ``capacity`` for a slot: free, yours, booked, closed."""
    with db.session(commit=False) as session:
        return rooms.rooms(
            session,
            actor=user,
            building=building,
            start=start,
            end=end,
            floor=floor,
            capacity=capacity,
            lang=lang,
        )


@router.post("/bookings", response_model=BookingResult, status_code=201)
def create_booking(
    new: BookingCreate, user: Anyone, db: DatabaseDep, lang: Language
) -> BookingResult:
    """Book a desk or room for a slot or a day, weekly if asked.

    A failed date does not sink a series: the answer lists it with the rule that refused it.
    """
    with db.session() as session:
        return service.create(session, actor=user, new=new, language=lang)


@router.get("/bookings", response_model=list[BookingPublic])
def list_bookings(
    user: Anyone,
    db: DatabaseDep,
    building: str | None = None,
    floor: str | None = None,
    day: Day | None = None,
    person: Annotated[str | None, Query(alias="user")] = None,
    reason: Annotated[str | None, Query(max_length=300)] = None,
) -> list[BookingPublic]:
    """Your bookings; facility managers may ask for a building, floor or day, without names.

    An agency's manager gets its floors' desks only.

    Another person's bookings (``user``), or the names in a building's list, only for an
    administrator who states a ``reason``: the read is recorded in the audit log.
    """
    with db.session() as session:
        return service.bookings(
            session, actor=user, building=building, floor=floor, day=day, user=person, reason=reason
        )


@router.get("/colleagues")
def colleagues(user: Anyone, db: DatabaseDep, day: Day | None = None) -> list[dict[str, object]]:
    """Where your team sits today (or on ``day``): colleagues who opted in only."""
    with db.session(commit=False) as session:
        when = day or today_in(db.zone)
        return service.colleagues(session, actor=user, day=when)


@router.get("/bookings/{booking_id}", response_model=BookingPublic)
def get_booking(
    booking_id: BookingId,
    user: Anyone,
    db: DatabaseDep,
    reason: Annotated[str | None, Query(max_length=300)] = None,
) -> BookingPublic:
    """One booking: yours, one you made for someone, or any for managers (without names)."""
    with db.session() as session:
        return service.one(session, actor=user, booking_id=booking_id, reason=reason)


@router.delete("/bookings/{booking_id}", response_model=BookingPublic)
def cancel_booking(booking_id: BookingId, user: Anyone, db: DatabaseDep) -> BookingPublic:
    """Cancel a booking that is not checked in."""
    with db.session() as session:
        return service.cancel(session, actor=user, booking_id=booking_id)


@router.post("/bookings/{booking_id}/check-in", response_model=BookingPublic)
def check_in(
    booking_id: BookingId,
    user: Anyone,
    db: DatabaseDep,
    key: Annotated[str | None, Query(max_length=64, description="The desk label's secret.")] = None,
) -> BookingPublic:
    """Check in, from 15 minutes before the start.

    With the desk label's ``key`` the check-in shows you are at the desk; without it, it is
    your word (``app``) until the desk's sensor, where it has one, sees you.
    """
    with db.session() as session:
        return checkin.check_in(session, actor=user, booking_id=booking_id, via="app", key=key)


@router.post("/bookings/{booking_id}/check-out", response_model=BookingPublic)
def check_out(booking_id: BookingId, user: Anyone, db: DatabaseDep) -> BookingPublic:
    """Leave: the desk is free again and the booking is kept as attended."""
    with db.session() as session:
        return checkin.check_out(session, actor=user, booking_id=booking_id)


@router.post("/buildings/{building_id}/desks/{desk}/check-in", response_model=BookingPublic)
def desk_check_in(
    building_id: str,
    desk: str,
    user: Anyone,
    db: DatabaseDep,
    key: Annotated[str, Query(max_length=64, description="The desk label's secret.")],
) -> BookingPublic:
    """Check in at a desk from its QR label: your booking, or a walk-in booking."""
    with db.session() as session:
        return checkin.desk_check_in(session, actor=user, building=building_id, desk=desk, key=key)


@router.get("/occupancy/live", response_model=list[DeskLiveState])
def occupancy_live(
    _: Anyone, db: DatabaseDep, request: Request, building: str, floor: str
) -> list[DeskLiveState]:
    """Every desk of a floor now: free, booked, awaiting_checkin, occupied or off (no names)."""
    monitor: DeskMonitor = services(request).monitor
    return monitor.lights.floor(building, floor)


@router.get("/reports/utilization", response_model=list[UtilizationRow])
def utilization_report(
    reader: Reporter,
    db: DatabaseDep,
    settings: SettingsDep,
    building: str,
    start: Moment,
    end: Moment,
    by: GroupBy = "floor",
    format: Literal["json", "csv"] = "json",  # noqa: A002  (the query parameter's name)
) -> list[UtilizationRow] | Response:
    """Utilization per desk, zone, floor or building, as JSON or CSV.

    Booked and attended hours, no-show and walk-in rates, and peak occupancy. A group
    with fewer people than the privacy minimum is withheld (``withheld``, no figures).
    """
    with db.session(commit=False) as session:
        tz = building_tz(session, building)[1]
        start, end = period(start, end, tz=tz)
        rows = utilization(
            session,
            building=building,
            start=start,
            end=end,
            by=by,
            min_group=settings.privacy_min_group,
            actor=reader,
        )
    if format == "csv":
        name = f"utilization-{building}-{by}-{start.date()}-{end.date()}.csv"
        return Response(
            as_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return rows


@router.get("/events", response_class=StreamingResponse)
async def events(
    user: Anyone, request: Request, building: str | None = None, floor: str | None = None
) -> StreamingResponse:
    """Server-Sent Events: ``event: desk`` with a desk's new state, for live floor maps.

    At most 5 streams per person at once (429 beyond).
    """
    hub: EventHub = services(request).events
    if not hub.may_open(person_holder(user.username)):
        raise Refusal("too_many_streams", T("too many open event streams: close one first"), 429)
    return StreamingResponse(
        hub.stream(
            building=building,
            floor=floor,
            disconnected=request.is_disconnected,
            holder=person_holder(user.username),
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.put("/buildings/{building_id}/booking-policy", response_model=PolicyDoc)
def put_policy(
    building_id: str, doc: PolicyDoc, admin: Admin, db: DatabaseDep, zone: str | None = None
) -> PolicyDoc:
    """Set the booking rules of a building, or of one zone (which then wins)."""
    with db.session() as session:
        return calendar.set_policy(
            session, actor=admin.username, building=building_id, zone=zone, doc=doc
        )


@router.post("/closed-days", response_model=ClosedDayDoc, status_code=201)
def close_day(doc: ClosedDayDoc, admin: PeopleAdmin, db: DatabaseDep) -> ClosedDayDoc:
    """Close a day for bookings (collective leave, an event), in one building or all.

    With ``agency``, the agency's own leave day: closed to its people in every building (an
    agency's administrator closes their agency's days only).
    """
    with db.session() as session:
        return calendar.close_day(session, actor=admin.username, doc=doc, scope=admin.scope)


@router.get("/closed-days", response_model=list[ClosedDayDoc])
def closed_days(
    _: Anyone,
    db: DatabaseDep,
    year: Annotated[int, Query(ge=FIRST_DAY.year, le=LAST_DAY.year)],
    building: str | None = None,
    agency: Annotated[str | None, Query(max_length=32)] = None,
) -> list[ClosedDayDoc]:
    """Public holidays and collective leave of Indonesia for the year, and days closed here.

    With ``agency``, that agency's own leave days too.
    """
    with db.session(commit=False) as session:
        return calendar.closed_days(session, year=year, building=building, agency=agency)


@router.post("/buildings/{building_id}/desks/{desk}/blocks", status_code=201)
def block_desk(
    building_id: str, desk: str, doc: DeskBlockDoc, user: Manager, db: DatabaseDep
) -> dict[str, int]:
    """Take a desk out of use for a while (maintenance); its bookings then are refused."""
    with db.session() as session:
        block = blocks.block_desk(
            session, actor=user.username, building=building_id, desk=desk, doc=doc
        )
        return {"id": block}
