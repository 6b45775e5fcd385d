"""Booking rules per building and zone, as the administrators set them."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from server.api.deps import DatabaseDep
from server.calendar import admin as calendar
from server.calendar.policy import policy_for
from server.calendar.schemas import PolicyDoc
from server.exceptions import ServerError
from server.i18n import WEEKDAYS, gettext
from server.spaces.service import buildings as list_buildings
from server.spaces.service import zones as building_zones
from server.web.admin.common import Answer, Said, back, fault, run, show
from server.web.browser import AdminForm, AdminPage
from server.web.render import page_language

router = APIRouter(include_in_schema=False)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _minute(text: str) -> int:
    t = time.fromisoformat(text) if text != "24:00" else None
    return 1440 if t is None else t.hour * 60 + t.minute


@router.get("/app/admin/rules")
async def rules(
    request: Request,
    person: AdminPage,
    db: DatabaseDep,
    answer: Said,
    building: Annotated[str | None, Query(max_length=32)] = None,
    zone: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The booking rules of a building, or of one of its zones (which then win)."""
    lang = page_language(request, person.user)

    def read() -> tuple[list[Any], Any, list[Any], Any]:
        with db.session(commit=False) as session:
            found = list_buildings(session)
            b = next((x for x in found if x.id == building), found[0])
            zones = building_zones(session, b.id)
            z = next((x for x in zones if x.code == zone), None)
            return (
                found,
                b,
                [(x.code, x.name) for x in zones],
                policy_for(session, b.id, z.id if z else None),
            )

    found, b, zones, policy = await run(read)
    return show(
        request,
        person,
        "admin/rules.html",
        buildings=found,
        building=b,
        zones=zones,
        zone=zone or "",
        policy=policy,
        hhmm=_hhmm,
        status=answer.status,
        notice=answer.notice,
        notice_kind=answer.kind,
        weekdays=[(i, gettext(lang, WEEKDAYS[i])) for i in range(7)],
    )


@router.post("/app/admin/rules")
async def save_rules(request: Request, person: AdminForm, db: DatabaseDep) -> Response:
    """Save the rules; bookings made from now on follow them."""
    form = await request.form()
    lang = page_language(request, person.user)
    building, zone = str(form.get("building", "")), str(form.get("zone", "")) or None
    try:
        doc = PolicyDoc.model_validate(
            {
                **{
                    k: int(str(form.get(k, "0")) or 0)
                    for k in (
                        "window_days",
                        "min_minutes",
                        "max_minutes",
                        "max_per_day",
                        "max_per_week",
                        "checkin_grace_minutes",
                        "release_after_vacant_minutes",
                    )
                },
                "open_minute": _minute(str(form.get("open", "07:00"))),
                "close_minute": _minute(str(form.get("close", "19:00"))),
                "weekdays": [int(str(d)) for d in form.getlist("weekdays")],
                "public_holidays": form.get("public_holidays") == "on",
            }
        )

        def save() -> None:
            with db.session() as session:
                calendar.set_policy(
                    session, actor=person.user.username, building=building, zone=zone, doc=doc
                )

        await run(save)
    except (ValueError, ValidationError, ServerError) as exc:
        return await rules(
            request,
            person,
            db,
            building=building,
            zone=zone,
            answer=Answer(fault(lang, exc), "error", 400),
        )
    where = urlencode({"building": building, **({"zone": zone} if zone else {})})
    said = f"{building}{'/' + zone if zone else ''}"
    return back(request, person, f"/app/admin/rules?{where}", "rules_saved", said)
