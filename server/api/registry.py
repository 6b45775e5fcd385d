"""Devices (installers), gateways (admins), and what gateways pull from the server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from contracts.downlink import DownlinkBatch, DownlinkItem, DownlinkSent
from contracts.registry import RegistrySnapshot
from server.api.deps import (
    Admin,
    CurrentGateway,
    DatabaseDep,
    Installer,
    SettingsDep,
    Staff,
    services,
)
from server.auth.service import Principal
from server.exceptions import NotFoundError
from server.registry import devices as dev
from server.registry import labels
from server.registry import service as registry
from server.registry.downlink import (
    Notifier,
    command_public,
    find_command,
    mark_sent,
    pending,
    queue_command,
)
from server.registry.labels import DeskLabel
from server.registry.models import DeviceState
from server.registry.schemas import (
    Assignment,
    CommandPublic,
    CommandRequest,
    DeviceCreate,
    DeviceCredentials,
    DevicePublic,
    GatewayCreate,
    GatewayPublic,
    GatewayToken,
    PasswordCheck,
)
from server.registry.service import gateways, revoke_gateway, snapshot

router = APIRouter(prefix="/api/v1", tags=["devices"])


def _notifier(request: Request) -> Notifier:
    notifier: Notifier = services(request).notifier
    return notifier


def _credentials(row: object, password: str, request: Request) -> DeviceCredentials:
    return DeviceCredentials(
        device=dev.public(row),  # type: ignore[arg-type]
        mqtt_username=row.id,  # type: ignore[attr-defined]
        mqtt_password=password,
        base_topic=services(request).settings.base_topic,
    )


@router.post("/devices", response_model=DeviceCredentials, status_code=201)
def register_device(
    new: DeviceCreate, user: Installer, db: DatabaseDep, request: Request
) -> DeviceCredentials:
    """Register a device; the answer holds its MQTT password, shown this once."""
    with db.session() as session:
        row, password = dev.register(session, actor=user, new=new)
        answer = _credentials(row, password, request)
    return answer


@router.get("/devices", response_model=list[DevicePublic])
def list_devices(
    user: Staff,
    db: DatabaseDep,
    building: str | None = None,
    floor: str | None = None,
    kind: str | None = None,
    state: DeviceState | None = None,
) -> list[DevicePublic]:
    """Devices with their state, last contact, firmware, signal, boots and gaps.

    An installer limited to some buildings sees their devices and those not placed yet.
    """
    with db.session() as session:
        return dev.devices(
            session, actor=user, building=building, floor=floor, kind=kind, state=state
        )


@router.get("/devices/{device_id}", response_model=DevicePublic)
def get_device(device_id: str, user: Staff, db: DatabaseDep) -> DevicePublic:
    """One device."""
    with db.session() as session:
        return dev.public(dev.device_of(session, actor=user, device_id=device_id))


@router.put("/devices/{device_id}/assignment", response_model=DevicePublic)
def assign_device(
    device_id: str, where: Assignment, user: Installer, db: DatabaseDep
) -> DevicePublic:
    """Bind the device to a desk, room or zone (no reflash: the device knows only its id).

    A second node on a desk that already has one is bound, with a warning saying so.
    """
    with db.session() as session:
        row = dev.assign(session, actor=user, device_id=device_id, where=where)
        answer = dev.public(row)
        others = dev.sharing(session, row)
    if others:
        answer.warnings.append(
            f"desk {row.space} already has node {', '.join(others)}: both now report for it; "
            f"decommission or move the one that does not belong"
        )
    return answer


@router.delete("/devices/{device_id}/assignment", response_model=DevicePublic)
def unassign_device(device_id: str, user: Installer, db: DatabaseDep) -> DevicePublic:
    """Take the device off its space."""
    with db.session() as session:
        answer = dev.public(dev.unassign(session, actor=user, device_id=device_id))
    return answer


@router.post("/devices/{device_id}/password", response_model=DeviceCredentials)
def reset_device_password(
    device_id: str, user: Installer, db: DatabaseDep, request: Request
) -> DeviceCredentials:
    """Give the device a new MQTT password (shown once); reflash its config.json with it."""
    with db.session() as session:
        row, password = dev.reset_password(session, actor=user, device_id=device_id)
        answer = _credentials(row, password, request)
    return answer


@router.post("/devices/{device_id}/password/check")
def check_device_password(
    device_id: str, check: PasswordCheck, user: Installer, db: DatabaseDep
) -> dict[str, bool]:
    """Whether a password (from an installer's saved config) is the device's current one."""
    with db.session() as session:
        matches = dev.password_matches(
            session, actor=user, device_id=device_id, password=check.password
        )
    return {"matches": matches}


@router.delete("/devices/{device_id}", response_model=DevicePublic)
def decommission_device(device_id: str, user: Installer, db: DatabaseDep) -> DevicePublic:
    """Decommission the device: its broker login is revoked; its history is kept."""
    with db.session() as session:
        answer = dev.public(dev.decommission(session, actor=user, device_id=device_id))
    return answer


@router.post("/devices/{device_id}/commands", response_model=CommandPublic, status_code=202)
async def send_command(
    device_id: str,
    command: CommandRequest,
    user: Installer,
    db: DatabaseDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for the ack.")] = 0,
) -> CommandPublic:
    """Send identify, reboot or config to the device through its gateway.

    With ``wait``, answer with the device's ack (200) or the state reached when the wait
    ran out (202).
    """

    def queue() -> tuple[str, str]:
        with db.session() as session:
            row = queue_command(
                session,
                actor=user,
                device_id=device_id,
                request=command,
                ttl_s=settings.command_timeout_s,
            )
            return row.gateway_id, row.cmd_id or ""

    gateway_id, cmd_id = await run_in_threadpool(queue)
    deadline = time.monotonic() + wait
    while True:
        state = await run_in_threadpool(_command_state, db, user, device_id, cmd_id)
        if state.state in ("acked", "failed") or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.2)
    if state.state in ("acked", "failed"):
        response.status_code = 200
    return state


def _command_state(db: DatabaseDep, user: Principal, device_id: str, cmd_id: str) -> CommandPublic:
    with db.session() as session:
        row = find_command(session, actor=user, device_id=device_id, cmd_id=cmd_id)
        if row is None:
            raise NotFoundError(f"no command {cmd_id!r} for device {device_id!r}")
        return command_public(row)


@router.get("/devices/{device_id}/commands/{cmd_id}", response_model=CommandPublic)
def get_command(device_id: str, cmd_id: str, user: Staff, db: DatabaseDep) -> CommandPublic:
    """A command and how far it got: queued, sent, acked, failed or expired."""
    return _command_state(db, user, device_id, cmd_id)


@router.post("/gateways", response_model=GatewayToken, status_code=201)
def create_gateway(new: GatewayCreate, user: Admin, db: DatabaseDep) -> GatewayToken:
    """Register a gateway (admins); the token is shown this once. A taken id is a 409."""
    with db.session() as session:
        token = registry.create_gateway(session, actor=user, new=new)
    return GatewayToken(gateway=new.id, token=token)


@router.post("/gateways/{gateway_id}/token", response_model=GatewayToken)
def rotate_gateway_token(gateway_id: str, user: Admin, db: DatabaseDep) -> GatewayToken:
    """A new token for a gateway (the old one stops working at once)."""
    with db.session() as session:
        token = registry.rotate_gateway(session, actor=user, gateway_id=gateway_id)
    return GatewayToken(gateway=gateway_id, token=token)


@router.get("/buildings/{building}/desks/{desk}/label", response_model=DeskLabel)
def get_desk_label(
    building: str, desk: str, user: Installer, db: DatabaseDep, settings: SettingsDep
) -> DeskLabel:
    """The desk's QR label: its check-in address with the desk's secret (installers)."""
    with db.session() as session:
        return labels.desk_label(
            session, actor=user, building=building, desk=desk, server=settings.public_url
        )


@router.post("/buildings/{building}/desks/{desk}/label", response_model=DeskLabel)
def renew_desk_label(
    building: str, desk: str, user: Installer, db: DatabaseDep, settings: SettingsDep
) -> DeskLabel:
    """A new secret for the desk: labels printed before stop working; print this one."""
    with db.session() as session:
        return labels.new_desk_key(
            session, actor=user, building=building, desk=desk, server=settings.public_url
        )


@router.get("/gateways", response_model=list[GatewayPublic])
def list_gateways(_: Staff, db: DatabaseDep) -> list[GatewayPublic]:
    """Gateways and when each last called."""
    with db.session() as session:
        return gateways(session)


@router.delete("/gateways/{gateway_id}", status_code=204)
def delete_gateway(gateway_id: str, user: Admin, db: DatabaseDep) -> None:
    """Revoke a gateway's token."""
    with db.session() as session:
        revoke_gateway(session, gateway_id=gateway_id, actor=user.username)


@router.get("/gateway/registry", response_model=RegistrySnapshot)
def gateway_registry(gateway: CurrentGateway, db: DatabaseDep) -> RegistrySnapshot:
    """The calling gateway's devices, their spaces and broker password hashes."""
    with db.session() as session:
        return snapshot(session, gateway_id=gateway.id)


@router.get("/gateway/downlink", response_model=DownlinkBatch)
async def gateway_downlink(
    gateway: CurrentGateway,
    db: DatabaseDep,
    request: Request,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
    registry: Annotated[
        str | None, Query(description="The registry version the gateway holds.")
    ] = None,
) -> DownlinkBatch:
    """What the calling gateway should publish; waits up to ``wait`` s for something.

    It answers early, too, when the gateway's registry is out of date.
    """
    known = registry
    event = _notifier(request).event(gateway.id)
    deadline = time.monotonic() + wait
    while True:
        event.clear()
        items, version = await run_in_threadpool(_pending, db, gateway.id, _notifier(request))
        left = deadline - time.monotonic()
        if items or version != known or left <= 0 or await request.is_disconnected():
            return DownlinkBatch(items=items, registry_version=version)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=min(left, 5.0))


def _pending(
    db: DatabaseDep, gateway_id: str, notifier: Notifier
) -> tuple[list[DownlinkItem], str]:
    with db.session() as session:
        version = notifier.registry_version(
            gateway_id, lambda: snapshot(session, gateway_id=gateway_id).version
        )
        return pending(session, gateway_id=gateway_id), version


@router.post("/gateway/downlink/sent")
def gateway_downlink_sent(
    sent: DownlinkSent, gateway: CurrentGateway, db: DatabaseDep
) -> dict[str, int]:
    """The calling gateway confirms what it has published."""
    with db.session() as session:
        return {"marked": mark_sent(session, gateway_id=gateway.id, ids=sent.ids)}
