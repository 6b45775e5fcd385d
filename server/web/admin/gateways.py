"""Gateways (made, token renewed, revoked) and kiosk links (made, switched off)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from server.api.deps import DatabaseDep, services
from server.api.errors import status_of
from server.bookings import kiosks
from server.bookings.kiosks import KioskCreate
from server.calendar.dates import from_ms
from server.exceptions import ServerError
from server.i18n import gettext
from server.registry.schemas import GatewayCreate
from server.registry.service import create_gateway, gateways, revoke_gateway, rotate_gateway
from server.spaces.service import buildings as list_buildings
from server.web.admin.common import Answer, Said, back, fault, run, show
from server.web.browser import AdminForm, AdminPage, Browser
from server.web.render import page_language

router = APIRouter(include_in_schema=False)


@router.get("/app/admin/gateways")
async def gateways_page(
    request: Request, person: AdminPage, db: DatabaseDep, answer: Said
) -> Response:
    """Gateways (their last call, backlog, troubles), and kiosk links."""

    def read() -> tuple[list[Any], list[Any], list[Any]]:
        with db.session(commit=False) as session:
            return gateways(session), kiosks.listed(session), list_buildings(session)

    gws, links, found = await run(read)
    tz = db.zone
    return show(
        request,
        person,
        "admin/gateways.html",
        gateways=gws,
        kiosks=links,
        buildings=found,
        made=answer.made,
        status=answer.status,
        notice=answer.notice,
        notice_kind=answer.kind,
        at=lambda ms: from_ms(ms, tz).strftime("%d/%m %H:%M") if ms else "—",
    )


@router.post("/app/admin/gateways")
async def gateway_create(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    gateway: Annotated[str, Form(max_length=100)],
    building: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A new gateway: its token is shown on this answer, once."""

    def save() -> str:
        new = GatewayCreate(id=gateway.strip(), building=building or None)
        with db.session() as session:
            return create_gateway(session, actor=person.user, new=new)

    return await _gateway_token(request, person, db, gateway, save)


@router.post("/app/admin/gateways/{gateway_id}/token")
async def gateway_rotate(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    gateway_id: str,
) -> Response:
    """A new token for a gateway (the old one stops working): shown on this answer, once."""

    def save() -> str:
        with db.session() as session:
            return rotate_gateway(session, actor=person.user, gateway_id=gateway_id)

    return await _gateway_token(request, person, db, gateway_id, save)


async def _gateway_token(
    request: Request, person: Browser, db: Any, gateway: str, save: Callable[[], str]
) -> Response:
    lang = page_language(request, person.user)
    try:
        token = await run(save)
    except (ServerError, ValidationError) as exc:
        status = status_of(exc, default=400)
        return await gateways_page(request, person, db, Answer(fault(lang, exc), "error", status))
    note = gettext(
        lang,
        "The token of gateway {id}: copy it into the gateway's settings "
        "(GATEWAY_TOKEN) now; it is not shown again.",
    ).format(id=gateway)
    return await gateways_page(
        request, person, db, Answer(note, made={"what": "token", "value": token})
    )


@router.post("/app/admin/gateways/{gateway_id}/revoke")
async def gateway_revoke(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    gateway_id: str,
) -> Response:
    """Revoke a gateway's token: it can deliver nothing more."""

    def save() -> None:
        with db.session() as session:
            revoke_gateway(session, gateway_id=gateway_id, actor=person.user.username)

    await run(save)
    return back(request, person, "/app/admin/gateways", "gateway_revoked", gateway_id)


@router.post("/app/admin/kiosks")
async def kiosk_link(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    building: Annotated[str, Form(max_length=32)],
    floor: Annotated[str, Form(max_length=32)],
    label: Annotated[str, Form(max_length=100)],
) -> Response:
    """A link for a floor's screen by the lift: shown on this answer, once."""
    lang = page_language(request, person.user)
    try:
        new = KioskCreate(building=building, floor=floor, label=label)

        def save() -> Any:
            with db.session() as session:
                return kiosks.create(session, actor=person.user.username, new=new)

        made = await run(save)
    except (ValidationError, ServerError) as exc:
        return await gateways_page(request, person, db, Answer(fault(lang, exc), "error", 400))
    # From the configured address, never the request's Host header (a forged one would
    # hand the admin a link to another site).
    link = f"{services(request).settings.public_url.rstrip('/')}{made.path}"
    note = gettext(
        lang, "The link for {label}: open it on the screen now; it is not shown again."
    ).format(label=label)
    return await gateways_page(
        request, person, db, Answer(note, made={"what": "kiosk", "value": link})
    )


@router.post("/app/admin/kiosks/{kiosk_id}/revoke")
async def kiosk_revoke(
    request: Request,
    person: AdminForm,
    db: DatabaseDep,
    kiosk_id: int,
) -> Response:
    """Switch a kiosk link off: its screen shows nothing from now on."""

    def save() -> Any:
        with db.session() as session:
            return kiosks.revoke(session, actor=person.user.username, kiosk_id=kiosk_id)

    gone = await run(save)
    return back(request, person, "/app/admin/gateways", "kiosk_revoked", gone.label)
