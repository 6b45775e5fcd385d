"""The retention job: each category of the inventory is kept no longer than its setting.

Runs on the replica that runs the periodic jobs, every ``retention_every_s``, on whichever
relational database and reading store the server uses. Each category's run is recorded
(``retention_runs``): the privacy notice says when each was last enforced, and a category
the store could not enforce (InfluxDB 2.x refuses ``DELETE``) says so instead of claiming
it. What a run removed goes in the audit log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from server.audit.service import record
from server.config import ServerSettings
from server.privacy.handlers import DAY_MS, Context
from server.privacy.inventory import CATEGORIES, Category
from server.privacy.models import RetentionRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One category's run: its cutoff, what went, or why it could not be enforced."""

    category: str
    cutoff_ms: int
    removed: int | None
    error: str | None = None


@dataclass
class Retention:
    """Enforces every category's retention against the clock."""

    ctx: Context
    settings: ServerSettings
    clock: Callable[[], float] = time.time

    async def run(self) -> list[Outcome]:
        """Apply each category's retention once; one category's failure stops no other."""
        now = int(self.clock() * 1000)
        out = []
        for c in CATEGORIES:
            days = c.days(self.settings)
            if not days or (c.expire_rows is None and c.expire_store is None):
                continue  # kept while the account exists, or kept by the operator's choice
            cutoff = now - days * DAY_MS
            try:
                removed = await self._apply(c, cutoff)
                out.append(Outcome(c.key, cutoff, removed))
            except Exception as exc:  # recorded and shown, tried again next run
                logger.warning("retention of %s not enforced: %s", c.key, exc)
                out.append(Outcome(c.key, cutoff, None, f"{type(exc).__name__}: {exc}"[:300]))
        await run_in_threadpool(self._record, now, out)
        return out

    async def _apply(self, c: Category, cutoff: int) -> int | None:
        if c.expire_rows is not None:
            expire = c.expire_rows

            def work() -> int:
                with self.ctx.db.session() as s:
                    return expire(s, cutoff)

            return await run_in_threadpool(work)
        assert c.expire_store is not None
        return await c.expire_store(self.ctx, cutoff)

    def _record(self, now: int, outcomes: list[Outcome]) -> None:
        with self.ctx.db.session() as s:
            for o in outcomes:
                run = s.get(RetentionRun, o.category) or RetentionRun(category=o.category)
                run.ran_ms, run.cutoff_ms = now, o.cutoff_ms
                run.removed, run.error = o.removed, o.error
                if o.error is None:
                    run.enforced_ms = now
                s.add(run)
            gone = {o.category: o.removed for o in outcomes if o.removed}
            if gone:
                record(
                    s,
                    actor="retention",
                    action="privacy.retention",
                    target_kind="data",
                    target_id="personal",
                    **gone,
                )


def last_runs(ctx: Context) -> dict[str, RetentionRun]:
    """The newest run of each category (for the notice and the admins' page)."""
    with ctx.db.session(commit=False) as s:
        rows = s.scalars(select(RetentionRun)).all()
        s.expunge_all()
        return {r.category: r for r in rows}
