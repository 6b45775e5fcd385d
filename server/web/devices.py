"""The installers' pages: every device's health, and commissioning nodes on the floor plan.

Commissioning: register a node (its broker password is shown once, also as a QR code of
the node's config), bind it by clicking its desk or room on the plan, watch it come
online, make its LED blink, print the desk's label, or decommission it. The plan's script
(``static/commission.js``) calls the JSON API with the session cookie and CSRF token.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from contracts.labels import CAPTION, qr_svg, svg
from server.api.deps import DatabaseDep, services
from server.clock import now_ms
from server.exceptions import NotFoundError
from server.i18n import N_, gettext
from server.registry import devices as dev
from server.registry import labels
from server.registry.labels import DeskLabel
from server.registry.schemas import DeviceCreate, DevicePublic
from server.spaces.service import buildings as list_buildings
from server.spaces.service import place_names
from server.web.browser import InstallerForm, InstallerPage
from server.web.render import page_language, render, script_json

router = APIRouter(include_in_schema=False)

KINDS = {"desk": N_("Desk node"), "room": N_("Room node"), "energy": N_("Energy meter")}
STATES = {
    "online": N_("Online"),
    "offline": N_("Offline"),
    "new": N_("Not seen yet"),
    "decommissioned": N_("Decommissioned"),
}
MARKS = {
    "node_online": N_("Node online"),
    "node_offline": N_("Node offline"),
    "node_new": N_("Node registered, not seen yet"),
    "node_many": N_("More than one node: check"),
    "node_none": N_("No node"),
}


def ago(lang: str, ms: int | None, now_ms: int) -> str:
    """``3 min ago`` / ``3 mnt lalu``: how long since a device was heard."""
    if ms is None:
        return gettext(lang, "never")
    s = max(0, (now_ms - ms) // 1000)
    if s < 90:
        return gettext(lang, "{n} s ago").format(n=s)
    if s < 5400:
        return gettext(lang, "{n} min ago").format(n=s // 60)
    if s < 172_800:
        return gettext(lang, "{n} h ago").format(n=s // 3600)
    return gettext(lang, "{n} days ago").format(n=s // 86400)


@router.get("/app/devices")
async def device_list(
    request: Request,
    person: InstallerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    floor: Annotated[str | None, Query(max_length=32)] = None,
    state: Literal["online", "offline", "new", "decommissioned"] | None = None,
) -> Response:
    """Devices by building and floor: online, last heard, signal, firmware, memory, errors."""
    lang = page_language(request, person.user)
    user = person.user

    def read() -> tuple[list[Any], Any, list[DevicePublic], dict[str, str]]:
        with db.session(commit=False) as session:
            found = [b for b in list_buildings(session) if user.works_in(b.id)]
            if not found:
                raise NotFoundError("no building is set up yet")
            b = next((x for x in found if x.id == building), found[0])
            rows = dev.devices(session, actor=user, building=b.id, floor=floor or None, state=state)
            unplaced = dev.devices(session, actor=user, state=state)
            rows += [d for d in unplaced if d.space is None]
            return found, b, rows, place_names(session, b.id)

    found, b, rows, places = await run_in_threadpool(read)
    now = now_ms()
    by_floor: dict[str, list[DevicePublic]] = {}
    for d in sorted(rows, key=lambda d: (d.space.floor if d.space else "~", d.id)):
        by_floor.setdefault(d.space.floor if d.space else "", []).append(d)
    names = {f.id: f.name for f in b.floors}
    return render(
        request,
        "devices/list.html",
        user=user,
        csrf=person.csrf,
        buildings=found,
        building=b,
        places=places,
        floor=floor,
        state=state,
        groups=by_floor,
        floor_names=names,
        kinds={k: gettext(lang, v) for k, v in KINDS.items()},
        states={k: gettext(lang, v) for k, v in STATES.items()},
        ago=lambda ms: ago(lang, ms, now),
        counts={s: sum(d.state == s for d in rows) for s in STATES},
    )


@router.get("/app/devices/commission")
async def commission(
    request: Request,
    person: InstallerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    floor: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The floor plan with each desk's and room's nodes; register, bind, watch, identify."""
    lang = page_language(request, person.user)
    user = person.user

    def read() -> tuple[list[Any], Any]:
        with db.session(commit=False) as session:
            found = [b for b in list_buildings(session) if user.works_in(b.id)]
            if not found:
                raise NotFoundError("no building is set up yet")
            return found, next((x for x in found if x.id == building), found[0])

    found, b = await run_in_threadpool(read)
    f_id = next((f.id for f in b.floors if f.id == floor), b.floors[0].id)
    words = {
        "caption": N_("The floor's desks and rooms with their nodes, as the table lists them"),
        "desk": N_("Desk"),
        "room": N_("Room"),
        "registered": N_(
            "Registered {id}. Its password is shown only now: copy it or scan the "
            "QR code into the node's config."
        ),
        "pick": N_("Now click the desk or room on the plan where {id} is mounted."),
        "bound": N_("{id} now serves {place}."),
        "second": N_("{place} already has node {others}. Bind {id} there as well?"),
        "waiting": N_("Waiting for {id} to come online… power it on."),
        "online": N_("{id} is online."),
        "identify_sent": N_("Identify sent to {id}: its LED blinks."),
        "identify_state": N_("Identify: {state}"),
        "decommission_ask": N_("Decommission {id}? Its login stops working."),
        "decommissioned": N_("{id} is decommissioned."),
        "none": N_("No node here yet."),
        "identify": N_("Identify (LED blinks)"),
        "label": N_("Print label"),
        "decommission": N_("Decommission"),
        "error": N_("Something went wrong: {detail}"),
        "col_place": N_("Desk or room"),
        "col_nodes": N_("Nodes"),
        "col_state": N_("State"),
    }
    config = {
        "building": b.id,
        "floor": f_id,
        "lang": lang,
        "messages": {k: gettext(lang, v) for k, v in words.items()},
        "marks": {k: gettext(lang, v) for k, v in MARKS.items()},
        "states": {k: gettext(lang, v) for k, v in STATES.items()},
    }
    return render(
        request,
        "devices/commission.html",
        user=user,
        csrf=person.csrf,
        buildings=found,
        building=b,
        floor=f_id,
        kinds=[(k, gettext(lang, v)) for k, v in KINDS.items()],
        marks=[(k, gettext(lang, v)) for k, v in MARKS.items()],
        config=script_json(config),
    )


@router.post("/app/devices/register")
async def register(
    request: Request, person: InstallerForm, db: DatabaseDep, new: DeviceCreate
) -> Response:
    """Register a node under the registry's rules: its login, shown once, and its QR code."""
    base = services(request).settings.base_topic

    def made() -> tuple[DevicePublic, str]:
        with db.session() as session:
            row, password = dev.register(session, actor=person.user, new=new)
            return dev.public(row), password

    device, password = await run_in_threadpool(made)
    config = {
        "device_id": device.id,
        "kind": device.kind,
        "mqtt_password": password,
        "base_topic": base,
    }
    return JSONResponse(
        {
            "device": device.model_dump(mode="json"),
            "mqtt_username": device.id,
            "mqtt_password": password,
            "base_topic": base,
            "config_qr": qr_svg(json.dumps(config, separators=(",", ":"))),
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/app/devices/label/{building}/{desk}.svg")
async def label(
    request: Request, person: InstallerPage, db: DatabaseDep, building: str, desk: str
) -> Response:
    """The desk's printable QR label (50 mm wide) that opens its check-in page."""

    def read() -> DeskLabel:
        with db.session() as session:
            return labels.desk_label(
                session,
                actor=person.user,
                building=building,
                desk=desk,
                server=services(request).settings.public_url,
            )

    found = await run_in_threadpool(read)
    lang = page_language(request, person.user)
    title = f"{gettext(lang, 'Desk')} {desk}"
    name = f'inline; filename="label-{desk}.svg"'
    return Response(
        svg(found.url, title, [found.floor, *CAPTION]),
        media_type="image/svg+xml",
        headers={"Content-Disposition": name, "Cache-Control": "no-store"},
    )
