"""A floor's screen by the lift: read-only, large, live, and never a name.

Opened by the secret link an admin makes (``POST /api/v1/kiosks``); revoking the link
blanks the screen at its next refresh. The screen reads its floor's desks as their LEDs
show them (free, booked, awaiting check-in, occupied, off) and follows the live events.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from server.api.deps import DatabaseDep, Public, services
from server.bookings import kiosks
from server.clock import now_utc, zone_name
from server.i18n import N_, gettext
from server.spaces.service import building as building_public
from server.spaces.service import floor_map
from server.web.render import page_language, render, script_json

router = APIRouter(include_in_schema=False)

STATES = {
    "free": N_("Free"),
    "booked": N_("Booked"),
    "awaiting_checkin": N_("Awaiting check-in"),
    "occupied": N_("Occupied now"),
    "off": N_("Closed"),
}
GONE = N_("This screen's link was turned off. Ask the building's administrator for a new one.")


async def _link(db: Any, secret: str) -> kiosks.KioskPublic | None:
    def read() -> kiosks.KioskPublic | None:
        with db.session(commit=False) as session:
            return kiosks.opened(session, secret)

    return await run_in_threadpool(read)


@router.get("/kiosk/{secret}", dependencies=[Public])
async def kiosk_page(secret: str, request: Request, db: DatabaseDep) -> Response:
    """The screen (the link's secret is the key)."""
    lang = page_language(request, None)
    link = await _link(db, secret)
    if link is None:
        return render(
            request, "kiosk.html", user=None, status=404, gone=gettext(lang, GONE), config="{}"
        )
    config = {
        "base": f"/kiosk/{secret}",
        "lang": lang,
        "states": {k: gettext(lang, v) for k, v in STATES.items()},
        "gone": gettext(lang, GONE),
    }
    return render(
        request,
        "kiosk.html",
        user=None,
        gone=None,
        config=script_json(config),
        legend=[(k, gettext(lang, v)) for k, v in STATES.items()],
    )


@router.get("/kiosk/{secret}/state", dependencies=[Public])
async def kiosk_state(secret: str, request: Request, db: DatabaseDep) -> Response:
    """The floor now: each desk's place and state, and the counts (no names)."""
    link = await _link(db, secret)
    if link is None:
        return JSONResponse({"detail": "this kiosk link was turned off"}, status_code=404)
    lights = services(request).monitor.lights

    def read() -> dict[str, Any]:
        with db.session(commit=False) as session:
            b = building_public(session, link.building)
            tz = ZoneInfo(b.timezone)
            fmap = floor_map(session, link.building, link.floor)
        live = {d.id: d.state for d in lights.floor(link.building, link.floor)}
        desks = [
            {"id": d.id, "x": d.x, "y": d.y, "state": live.get(d.id, "off")} for d in fmap.desks
        ]
        counts = {state: sum(d["state"] == state for d in desks) for state in STATES}
        return {
            "building": b.name,
            "floor": fmap.name,
            "width": fmap.width,
            "height": fmap.height,
            "desks": desks,
            "counts": counts,
            "rooms": [
                {
                    "id": r.id,
                    "name": r.name,
                    "capacity": r.capacity,
                    "x": r.x,
                    "y": r.y,
                    "width": r.width,
                    "height": r.height,
                }
                for r in fmap.rooms
            ],
            "now": now_utc().astimezone(tz).strftime("%H:%M"),
            "zone": zone_name(tz),
        }

    return JSONResponse(await run_in_threadpool(read), headers={"Cache-Control": "no-store"})


@router.get("/kiosk/{secret}/events", dependencies=[Public])
async def kiosk_events(secret: str, request: Request, db: DatabaseDep) -> Response:
    """The floor's live events (desk states; no names are ever in them)."""
    link = await _link(db, secret)
    if link is None:
        return JSONResponse({"detail": "this kiosk link was turned off"}, status_code=404)
    hub = services(request).events
    return StreamingResponse(
        hub.stream(
            building=link.building,
            floor=link.floor,
            disconnected=request.is_disconnected,
            holder=kiosks.kiosk_holder(link.id),
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
