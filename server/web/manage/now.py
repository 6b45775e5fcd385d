"""The building now and a floor's live map: states, air, set-back zones, troubles."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from server.api.deps import DatabaseDep, services
from server.calendar.dates import from_ms, to_ms
from server.clock import now_utc
from server.energy.actions import recorded_actions
from server.energy.comfort import band, recorded_alerts
from server.exceptions import NotFoundError
from server.i18n import N_, T, gettext
from server.readings.store import SpaceFilter
from server.registry import devices as registry_devices
from server.registry.service import gateways as list_gateways
from server.spaces.service import floor_map
from server.web.browser import ManagerPage, ReporterPage
from server.web.manage.common import (
    AIR_BANDS,
    CHANNELS,
    LIVE_STATES,
    MODES,
    actions_of,
    alerts_of,
    show,
    where_of,
)
from server.web.render import page_language, script_json

router = APIRouter(include_in_schema=False)


@router.get("/app/manage")
async def overview(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Each floor now (present, booked, free), open CO2 alerts, zones set back, troubles."""
    s = services(request)
    where = await run_in_threadpool(where_of, db, building, person.user)
    b = where.building
    now_ms = to_ms(now_utc())

    def read() -> dict[str, Any]:
        floors = []
        for f in b.floors:
            states = Counter(d.state for d in s.monitor.lights.floor(b.id, f.id))
            floors.append(
                {
                    "id": f.id,
                    "name": f.name,
                    "desks": sum(states.values()),
                    "occupied": states["occupied"],
                    "booked": states["booked"],
                    "awaiting": states["awaiting_checkin"],
                    "free": states["free"],
                    "off": states["off"],
                }
            )
        with db.session(commit=False) as session:
            alerts = alerts_of(
                recorded_alerts(session, building=b.id, active=True, since_ms=None), where.tz
            )
            current = actions_of(
                recorded_actions(session, building=b.id, floor=None, zone=None, since_ms=None)[0],
                where.tz,
            )
            devices = registry_devices.devices(session, actor=person.user, building=b.id)
            gws = [g for g in list_gateways(session) if g.building in (None, b.id)]
        return {
            "floors": floors,
            "alerts": alerts,
            "set_back": [a for a in current if a.mode != "normal"],
            "troubled": [d for d in devices if d.state == "offline" or d.sensor_errors],
            "device_count": Counter(d.state for d in devices),
            "gateways": gws,
        }

    facts = await run_in_threadpool(read)
    return show(
        request,
        person,
        "manage/overview.html",
        where,
        now=from_ms(now_ms, where.tz),
        modes=MODES,
        channels=CHANNELS,
        **facts,
    )


@router.get("/app/manage/floor")
async def live_map(
    request: Request,
    person: ReporterPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    floor: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The floor's desks in aggregate states and its rooms by air-quality band, live."""
    lang = page_language(request, person.user)
    where = await run_in_threadpool(where_of, db, building, person.user)
    b = where.building
    f_id = next((f.id for f in b.floors if f.id == floor), b.floors[0].id)
    bands = services(request).rollups.cfg.bands
    config = {
        "building": b.id,
        "floor": f_id,
        "lang": lang,
        "levels": list(bands.co2),
        "states": {k: gettext(lang, v) for k, v in LIVE_STATES.items()},
        "bands": {k: gettext(lang, v) for k, v in AIR_BANDS.items()},
        "messages": {
            k: gettext(lang, v)
            for k, v in {
                "caption": N_("Desks and rooms of the floor, as the tables below list them"),
                "rooms_caption": N_("The floor's rooms and their newest air reading"),
                "states_caption": N_("The floor's desks by state now"),
                "desk": N_("Desk"),
                "room": N_("Room"),
                "co2": N_("CO2 {ppm} ppm"),
                "people": N_("{n} people"),
                "live_on": N_("Live: the map follows the sensors and bookings."),
                "live_off": N_("Live updates paused; reconnecting…"),
                "error": N_("Something went wrong: {detail}"),
                "col_room": N_("Room"),
                "col_air": N_("Air quality"),
                "col_co2": N_("CO2 (ppm)"),
                "col_temp": N_("Temperature (°C)"),
                "col_rh": N_("Humidity (%)"),
                "col_state": N_("State"),
                "col_desks": N_("Desks"),
            }.items()
        },
    }
    return show(
        request,
        person,
        "manage/floor.html",
        where,
        floor=f_id,
        legend=[(k, gettext(lang, v)) for k, v in LIVE_STATES.items()],
        air=[(k, gettext(lang, v)) for k, v in AIR_BANDS.items()],
        config=script_json(config),
    )


@router.get("/app/manage/floor/rooms.json")
async def live_rooms(
    request: Request,
    person: ReporterPage,
    db: DatabaseDep,
    building: Annotated[str, Query(max_length=32)],
    floor: Annotated[str, Query(max_length=32)],
) -> list[dict[str, Any]]:
    """The floor's rooms with their newest climate reading and CO2 band (for the map)."""
    s = services(request)
    bands = s.rollups.cfg.bands
    where = await run_in_threadpool(where_of, db, building, person.user)
    if where.building.id != building or floor not in {f.id for f in where.building.floors}:
        raise NotFoundError(T("no floor {floor} in {building}", floor=floor, building=building))

    def rooms() -> list[Any]:
        with db.session(commit=False) as session:
            return floor_map(session, building, floor).rooms

    found = await run_in_threadpool(rooms)
    place = SpaceFilter(building=building, floor=floor)
    fields = (("env", "co2_ppm"), ("env", "temp_c"), ("env", "rh_pct"), ("people", "count"))
    newest = await asyncio.gather(
        *(s.store.latest(stream=st, field=f, where=place) for st, f in fields)
    )
    fresh_ms = to_ms(now_utc()) - 30 * 60_000  # an older reading says nothing about now
    by_room: dict[str, dict[str, Any]] = {}
    for (_, name), values in zip(fields, newest, strict=True):
        for v in values:
            if v.ts_ms >= fresh_ms:
                by_room.setdefault(v.space, {})[name] = v.value
    out = []
    for r in found:
        seen = by_room.get(r.id, {})
        co2 = seen.get("co2_ppm")
        out.append(
            {
                "id": r.id,
                "name": r.name,
                "capacity": r.capacity,
                "co2": co2,
                "temp": seen.get("temp_c"),
                "rh": seen.get("rh_pct"),
                "people": seen.get("count"),
                "band": "unknown" if co2 is None else band(float(co2), bands.co2),
            }
        )
    return out
