"""Retention (server/privacy/retention.py): each category is kept no longer than its
setting, on both relational databases (SQLite, PostgreSQL) and both reading stores (SQLite,
InfluxDB 1.x), on the test's clock; the privacy notice says when each was enforced."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.auth.models import LoginFailure, WebSession
from server.bookings.models import Booking
from server.bookings.reports import utilization
from server.config import ServerSettings
from server.db import Database
from server.energy.models import RollupState
from server.notify.models import MailMessage
from server.privacy.handlers import Context
from server.privacy.inventory import CATEGORIES
from server.privacy.models import RetentionRun
from server.privacy.notice import entries
from server.privacy.retention import Retention
from server.readings.store import ReadingStore, Window
from tests.server.office import OPERATOR
from tests.server.sitting import (
    DAY,
    WITA,
    B,
    at,
    person,
    presence,
    presence_hour,
    sat,
)


class Clock:
    """The test's clock: epoch seconds, moved by the test."""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t.timestamp()


@pytest.mark.anyio
async def test_each_category_is_kept_no_longer_than_its_setting(
    seated: Database, store: ReadingStore
) -> None:
    db = seated
    siti = person(db, "siti")
    booking = sat(db, siti, "za-0")
    with db.session() as s:
        s.add(
            MailMessage(to=siti.email, subject="Pemesanan", body="Meja za-0", created_ms=at(DAY, 8))
        )
        s.add(LoginFailure(username="siti", address="10.0.0.9", at_ms=at(DAY, 7)))
        s.add(
            WebSession(id="x" * 64, user_id=siti.id, created_ms=at(DAY, 7), expires_ms=at(DAY, 19))
        )
        s.add(
            AuditEntry(
                at_ms=at(DAY, 9),
                actor="siti",
                action="booking.create",
                target_kind="booking",
                target_id=str(booking),
            )
        )
        s.add(
            RollupState(building_id=B, done_until_ms=at(DAY + timedelta(days=400), 0), updated_ms=0)
        )
    await store.write([presence("za-0", at(DAY, 9) + i * 60_000, i) for i in range(30)])
    await store.write_rollups([presence_hour("za-0", at(DAY, 9))])
    settings = ServerSettings(
        _env_file=None,
        raw_retention_days=90,  # type: ignore[call-arg]
        booking_retention_days=180,
    )
    clock = Clock(datetime(DAY.year, DAY.month, DAY.day, 20, tzinfo=WITA))
    job = Retention(Context(db, store, settings.raw_retention_days), settings, clock=clock)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=WITA)

    def report() -> list[object]:
        with db.session() as s:
            return [
                r.model_dump()
                for r in utilization(
                    s,
                    building=B,
                    start=start,
                    end=start + timedelta(days=1),
                    by="zone",
                    min_group=1,
                    actor=OPERATOR,
                )
            ]

    before = report()
    ran = {o.category: o for o in await job.run()}
    assert all(o.error is None for o in ran.values()), ran
    assert not any(ran[k].removed for k in ("bookings", "mail", "logins", "audit"))

    async def raw() -> int:
        return len(
            await store.points(
                stream="presence", fields=["occupied"], start_ms=0, end_ms=at(DAY, 23)
            )
        )

    async def hours() -> int:
        rows = await store.rollups(
            kind="presence",
            values={"occupied_s": "sum"},
            window=Window(at(DAY, 0), at(DAY, 23), timedelta(days=1)),
        )
        return len(rows)

    assert await raw() == 30 and await hours() == 1

    clock.t += timedelta(days=31)  # mail and sign-ins are past their 30 days
    ran = {o.category: o for o in await job.run()}
    assert ran["mail"].removed == 1 and ran["logins"].removed == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(MailMessage)) == 0
        assert s.get(Booking, booking).user_id == siti.id  # type: ignore[union-attr]

    clock.t += timedelta(days=60)  # raw readings are past their 90 days
    await job.run()
    assert await raw() == 0 and await hours() == 1

    clock.t += timedelta(days=90)  # bookings are past their 180 days: anonymised
    ran = {o.category: o for o in await job.run()}
    assert ran["bookings"].removed == 1
    with db.session() as s:
        row = s.get(Booking, booking)
        assert row is not None and row.user_id is None and row.booked_by == ""
        assert (row.outcome, row.checked_in_ms, row.space_code) == (
            "attended",
            at(DAY, 9) + 600_000,
            "za-0",
        )
    assert report() == before  # the aggregates are what they were

    clock.t += timedelta(days=550)  # past two years: audit entries and desk-hours go
    ran = {o.category: o for o in await job.run()}
    assert ran["audit"].removed and await hours() == 0
    with db.session() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "booking.create")
            )
            == 0
        )
        runs = {r.category: r for r in s.scalars(select(RetentionRun))}
        # The retention job's own entry of this run is kept (it is new).
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "privacy.retention")
            )
            >= 1
        )
    enforced = {c.key for c in CATEGORIES if c.retention}
    assert enforced <= set(runs) and all(
        runs[k].enforced_ms == int(clock() * 1000) for k in enforced
    )
    # The notice says when each was last enforced, and claims no problem.
    said = {e.key: e for e in entries(settings, runs, "en")}
    assert said["bookings"].kept == "180 days." and said["bookings"].problem is None
    assert said["account"].retention_days is None and said["presence"].enforced is not None
