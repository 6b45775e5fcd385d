"""The periodic jobs: the booking sweep, rollups, zones, retention, and plans' bookings.

Each runs every so many seconds and survives any one failure. With several replicas on
one PostgreSQL, one replica at a time runs them: the one holding the job lock
(``server.replicas.JobLock``); when it stops, another takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import anyio.from_thread
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from server.bookings.outcomes import mark_exported, outcomes
from server.bookings.presence import DeskMonitor
from server.plans.afternoon import tell_tomorrow
from server.plans.follow import follow_all
from server.plans.forecast import keep_all
from server.plans.morning import mornings
from server.readings.store import ReadingStore
from server.replicas import JobLock
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
    monitor: DeskMonitor, mailer: Callable[[], int] | None, store: ReadingStore
) -> None:
    """One booking sweep.

    Releases no-shows and vacated desks, refreshes LEDs, sends mail, and writes finished
    bookings' outcomes to the reading store.
    """
    await run_in_threadpool(monitor.sweep)
    if mailer is not None:
        await run_in_threadpool(mailer)
    points, ids = await run_in_threadpool(outcomes, monitor.db)
    if points:
        # A StoreError is retried at the next sweep; a refused point (our own, so a bug)
        # is logged and not retried for ever.
        for refused in await store.write(points):
            logger.error("booking outcome %s not stored: %s", ids[refused.index], refused.reason)
        await run_in_threadpool(mark_exported, monitor.db, ids, monitor.now_ms())


async def _plans(services: Services) -> None:
    """The work plans' job: desks, forecasts, tomorrow's consolidation, morning summaries.

    Desks for the office days in reach, the forecasts to keep, tomorrow's consolidation
    told to the operators (from the afternoon), and the morning summaries due.
    """
    # Between its transactions each asks whether the server is stopping (it need not wait).
    await run_in_threadpool(follow_all, services.db, None, anyio.from_thread.check_cancelled)
    await run_in_threadpool(keep_all, services.db, None, anyio.from_thread.check_cancelled)
    await tell_tomorrow(services.db, services.rollups)
    await run_in_threadpool(mornings, services.db, services.settings.morning_summary_minute)


async def _run_jobs(services: Services) -> None:
    """Run the jobs while this replica holds the job lock; take it over when it is free."""
    s = services.settings
    lock = JobLock(services.db)
    tasks: list[asyncio.Task[None]] = []
    try:
        while True:
            try:
                held = await run_in_threadpool(lock.try_take)
            except SQLAlchemyError as exc:
                logger.warning(
                    "cannot reach the database for the job lock: %s", exc.__class__.__name__
                )
                held = False
            if held and not tasks:
                logger.info("this replica runs the periodic jobs")
                sweep = partial(_sweep, services.monitor, services.mailer, services.store)
                tasks = [
                    asyncio.create_task(repeat(sweep, s.booking_sweep_s, "booking sweep")),
                    asyncio.create_task(repeat(services.rollups.run, s.rollup_every_s, "rollups")),
                    asyncio.create_task(
                        repeat(services.energy.tick, s.energy_sweep_s, "energy evaluation")
                    ),
                    asyncio.create_task(
                        repeat(services.retention.run, s.retention_every_s, "retention")
                    ),
                    asyncio.create_task(
                        repeat(partial(_plans, services), s.plan_follow_s, "work plans")
                    ),
                ]
            elif not held and tasks:
                logger.warning("this replica no longer holds the job lock: its jobs stop")
                await _cancel(tasks)
                tasks = []
            services.metrics.jobs_runner.set(1 if tasks else 0)
            await asyncio.sleep(s.jobs_lock_retry_s)
    finally:
        await _cancel(tasks)
        await run_in_threadpool(lock.release)
        services.metrics.jobs_runner.set(0)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def running(services: Services) -> AsyncIterator[None]:
    """The periodic jobs run while in this context, in one replica at a time."""
    s = services.settings
    leader = asyncio.create_task(_run_jobs(services)) if s.sweeper else None
    logger.info(
        "server ready: readings in %s%s",
        s.readings_backend,
        "" if leader else "; periodic jobs are left to other replicas",
    )
    try:
        yield
    finally:
        if leader is not None:
            await _cancel([leader])
