"""The energy loop of the sweeping replica: zone decisions and comfort alerts, every minute."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.db import Database
from server.effects import announce, wake
from server.energy.actions import ZoneActions, zone_facts
from server.energy.comfort import QUIET_MS, AlertConfig, update_alerts
from server.energy.models import ComfortAlert
from server.metrics import ServerMetrics
from server.readings.store import ReadingStore, SpaceFilter
from server.spaces.models import Building

logger = logging.getLogger(__name__)
PEOPLE_FRESH_MS = 15 * 60_000


@dataclass
class EnergyRunner:
    """Evaluates every building's zones and rooms.

    Commands and alerts are written in one transaction per building, which wakes the
    gateways and tells the maps once it commits (server.effects).
    """

    db: Database
    store: ReadingStore
    actions: ZoneActions
    alerts: AlertConfig
    metrics: ServerMetrics | None = None
    planned: Callable[[Session, str, int], dict[str, float]] | None = None
    """People expected per HVAC zone today without a booking (the work plans' forecast)."""

    async def tick(self) -> None:
        """One evaluation of every building."""
        with self.db.session(commit=False) as s:
            buildings = list(s.scalars(select(Building.id).order_by(Building.id)))
        for b in buildings:
            try:
                await self.building(b)
            except Exception:  # one building's trouble must not stop the others
                logger.exception("energy evaluation of %s failed", b)

    async def building(self, building: str) -> None:
        """Decide the zones of one building and update its comfort alerts."""
        now = self.actions.now_ms()
        where = SpaceFilter(building=building)
        people = await self.store.points(
            stream="people",
            fields=["count"],
            start_ms=now - PEOPLE_FRESH_MS,
            end_ms=now + 1,
            where=where,
        )
        counted: dict[str, float] = {}
        for p in people:  # per device in time order: the newest count wins
            counted[p.tags.get("space", "")] = float(p.fields.get("count", 0))
        rooms_in_use = {space for space, n in counted.items() if n > 0}
        air = await self.store.points(
            stream="env", fields=["co2_ppm"], start_ms=now - QUIET_MS, end_ms=now + 1, where=where
        )

        def work() -> list[dict[str, Any]]:
            with self.db.session() as s:
                facts = zone_facts(s, building, now, rooms_in_use)
                if self.planned is not None:
                    for zone, n in self.planned(s, building, now).items():
                        if ("hvac", zone) in facts:
                            facts[("hvac", zone)].planned = n
                done = self.actions.evaluate(s, building, facts)

                def occupied(tags: dict[str, str]) -> bool:
                    zone = facts.get(("hvac", tags.get("zone", "")))
                    return tags.get("space") in rooms_in_use or bool(zone and zone.occupied)

                events = update_alerts(
                    s, building=building, points=air, occupied=occupied, now=now, cfg=self.alerts
                )
                open_alerts = (
                    select(func.count())
                    .select_from(ComfortAlert)
                    .where(ComfortAlert.building_id == building, ComfortAlert.ended_ms.is_(None))
                )
                still_open = s.scalar(open_alerts)
                for d in done.changed:  # for the live floor maps
                    events.append(
                        {
                            "type": "zone",
                            "building": building,
                            "floor": d.floor,
                            "zone": d.zone,
                            "channel": d.channel,
                            "mode": d.mode,
                            "reason_code": d.reason_code,
                            "reason": d.reason,
                            "at": now,
                        }
                    )
                    if self.metrics is not None:
                        self.metrics.zone_changes.labels(d.channel, d.mode).inc()
                for gateway in done.wake:
                    wake(s, gateway)
                for e in events:
                    announce(s, e)
            if self.metrics is not None:
                self.metrics.comfort_alerts_open.labels(building).set(still_open or 0)
            return events

        events = await run_in_threadpool(work)
        for e in events:
            if e["type"] == "comfort_alert":
                logger.info(
                    "comfort alert %s: %s %s at %.0f ppm",
                    e["state"],
                    building,
                    e["space"],
                    e["value"],
                )
