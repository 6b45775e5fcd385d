"""Commands and desired states for devices, queued until their gateway delivers them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from contracts.downlink import DownlinkItem
from contracts.payloads import Command
from server.audit.service import record
from server.auth.service import Principal
from server.clock import now_ms
from server.effects import wake
from server.exceptions import ConflictError
from server.registry.devices import device_of, live_device
from server.registry.models import Downlink
from server.registry.schemas import CommandPublic, CommandRequest

# How many items one gateway poll carries at most.
POLL_MAX = 500
VERSION_TTL_S = 30.0


class Notifier:
    """Wakes a gateway's long poll when something is queued for it.

    This process only: a gateway polling another replica sees it at its next poll, within
    five seconds.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._events: dict[str, asyncio.Event] = {}
        self._versions: dict[str, tuple[str, float]] = {}
        self._changed: dict[str, float] = {}

    def registry_version(self, gateway_id: str, compute: Callable[[], str]) -> str:
        """The gateway's registry version, computed at most every ``VERSION_TTL_S``.

        A snapshot of 5,000 devices takes about 0.2 s to build; polls come every few
        seconds. Changes made through this process invalidate it at once (``notify``);
        changes made elsewhere (another replica, a layout import) show within the TTL.
        """
        cached = self._versions.get(gateway_id)
        if cached is not None and time.monotonic() - cached[1] < VERSION_TTL_S:
            return cached[0]
        started = time.monotonic()
        version = compute()
        # A change committed while this was computed must not be hidden by the cache.
        if started > self._changed.get(gateway_id, 0.0):
            self._versions[gateway_id] = (version, started)
        return version

    def event(self, gateway_id: str) -> asyncio.Event:
        """The event a poll of ``gateway_id`` waits on (use on the event loop)."""
        return self._events.setdefault(gateway_id, asyncio.Event())

    def notify(self, gateway_id: str | None) -> None:
        """Wake the gateway's poll; safe from any thread (sync routes run in a pool)."""
        if gateway_id is not None:
            self._changed[gateway_id] = time.monotonic()
            self._versions.pop(gateway_id, None)
            self._loop.call_soon_threadsafe(lambda: self.event(gateway_id).set())


def queue_command(
    session: Session, *, actor: Principal, device_id: str, request: CommandRequest, ttl_s: int
) -> Downlink:
    """Queue a command for a device the actor may work on; its gateway publishes it."""
    device = live_device(session, device_id, actor)
    if device.gateway_id is None:
        raise ConflictError(f"device {device_id!r} has no gateway yet: assign it to a space")
    cmd_id = uuid.uuid4().hex[:16]
    command = Command(v=1, cmd_id=cmd_id, cmd=request.cmd, args=request.args)
    now = now_ms()
    row = Downlink(
        gateway_id=device.gateway_id,
        device_id=device_id,
        channel="cmd",
        payload=command.model_dump_json(),
        retain=False,
        cmd_id=cmd_id,
        requested_by=actor.username,
        created_ms=now,
        expires_ms=now + ttl_s * 1000,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor.username,
        action=f"device.command.{request.cmd}",
        target_kind="device",
        target_id=device_id,
        cmd_id=cmd_id,
        args=request.args,
    )
    wake(session, row.gateway_id)
    return row


def command_public(row: Downlink) -> CommandPublic:
    """A command row as the API shows it, with its state."""
    payload: dict[str, Any] = json.loads(row.payload)
    if row.ack_ms is not None:
        state = "acked" if row.ok else "failed"
    elif row.sent_ms is not None:
        state = "sent"
    elif row.expires_ms < now_ms():
        state = "expired"
    else:
        state = "queued"
    return CommandPublic(
        cmd_id=row.cmd_id or str(row.id),
        device=row.device_id or "",
        cmd=payload["cmd"],
        args=payload.get("args", {}),
        state=state,
        requested_by=row.requested_by,
        created_ms=row.created_ms,
        sent_ms=row.sent_ms,
        ack_ms=row.ack_ms,
        error=row.error,
    )


def find_command(
    session: Session, *, actor: Principal, device_id: str, cmd_id: str
) -> Downlink | None:
    """A command of a device the actor may work on, by id."""
    device_of(session, actor=actor, device_id=device_id)
    return session.scalar(
        select(Downlink).where(Downlink.device_id == device_id, Downlink.cmd_id == cmd_id)
    )


def pending(session: Session, *, gateway_id: str) -> list[DownlinkItem]:
    """What the gateway has not yet published, oldest first, leaving out expired items."""
    rows = session.scalars(
        select(Downlink)
        .where(
            Downlink.gateway_id == gateway_id,
            Downlink.sent_ms.is_(None),
            Downlink.expires_ms > now_ms(),
        )
        .order_by(Downlink.id)
        .limit(POLL_MAX)
    )
    return [
        DownlinkItem(
            id=r.id,
            device=r.device_id,
            zone=r.zone,
            channel=r.channel,
            payload=json.loads(r.payload),
            retain=r.retain,
        )
        for r in rows
    ]


def mark_sent(session: Session, *, gateway_id: str, ids: list[int]) -> int:
    """Note that the gateway published these items; returns how many were its own."""
    if not ids:
        return 0
    result = session.execute(
        update(Downlink)
        .where(Downlink.gateway_id == gateway_id, Downlink.id.in_(ids), Downlink.sent_ms.is_(None))
        .values(sent_ms=now_ms())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def record_acks(conn: Connection, acks: list[tuple[str, str, bool, str | None, int]]) -> None:
    """Store devices' answers ``(device, cmd_id, ok, error, ts)`` (from the ingest path)."""
    for device, cmd_id, ok, error, ts in acks:
        conn.execute(
            update(Downlink)
            .where(Downlink.device_id == device, Downlink.cmd_id == cmd_id)
            .where(Downlink.ack_ms.is_(None))
            .values(ack_ms=ts, ok=ok, error=error)
        )
