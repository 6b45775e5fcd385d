"""The server's periodic jobs: the booking sweep, the energy rollups and the zone evaluation.

Each runs every so many seconds and survives any one failure. With several replicas, only
one should run them: ``SMARTOFFICE_SWEEPER=false`` on the others (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

from server.bookings.presence import DeskMonitor
from server.readings.store import ReadingStore
from server.registry.downlink import Notifier
from server.services import Services

logger = logging.getLogger(__name__)


async def repeat(step: Callable[[], Awaitable[object]], every_s: float, what: str) -> None:
    """Run ``step`` every ``every_s`` forever, surviving any one failure."""
    while True:
        try:
            await step()
        except Exception:
            logger.exception("%s failed; trying again in %.0f s", what, every_s)
        await asyncio.sleep(every_s)


async def _sweep(
    monitor: DeskMonitor,
    notifier: Notifier,
    mailer: Callable[[], int] | None,
    store: ReadingStore,
) -> None:
    """One booking sweep.

    Releases no-shows and vacated desks, refreshes LEDs, sends mail, and writes finished
    bookings' outcomes to the reading store.
    """
    for gateway in await asyncio.to_thread(monitor.sweep):
        notifier.notify(gateway)
    if mailer is not None:
        await asyncio.to_thread(mailer)
    points, ids = await asyncio.to_thread(monitor.outcomes)
    if points:
        # A StoreError is retried at the next sweep; a refused point (our own, so a bug)
        # is logged and not retried for ever.
        for refused in await store.write(points):
            logger.error("booking outcome %s not stored: %s", ids[refused.index], refused.reason)
        await asyncio.to_thread(monitor.mark_exported, ids)


@asynccontextmanager
async def running(services: Services) -> AsyncIterator[None]:
    """The periodic jobs run while in this context (none where the settings say so)."""
    s = services.settings
    tasks: list[asyncio.Task[None]] = []
    if s.sweeper:
        sweep = partial(_sweep, services.monitor, services.notifier, services.mailer,
                        services.store)  # fmt: skip
        tasks = [
            asyncio.create_task(repeat(sweep, s.booking_sweep_s, "booking sweep")),
            asyncio.create_task(repeat(services.rollups.run, s.rollup_every_s, "rollups")),
            asyncio.create_task(
                repeat(services.energy.tick, s.energy_sweep_s, "energy evaluation")
            ),
        ]
    logger.info("server ready: readings in %s%s", s.readings_backend,
                "" if tasks else "; the booking sweep runs in another replica")  # fmt: skip
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
