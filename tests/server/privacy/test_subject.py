"""A person's own data (server/privacy/subject.py): the export holds everything, an erasure
leaves only the aggregates, and a store that cannot delete says so.

The HTTP rules (who may see whose bookings and attendance, audited reads) are in
tests/server/auth/test_service.py."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from harness.services import Service
from server.audit.models import AuditEntry
from server.auth.models import User
from server.auth.service import Principal
from server.bookings.models import Booking
from server.config import ServerSettings
from server.db import Database
from server.notify.models import MailMessage
from server.privacy import subject
from server.privacy.handlers import Context
from server.privacy.inventory import CATEGORIES
from server.privacy.models import RetentionRun
from server.privacy.notice import entries
from server.privacy.retention import Retention
from server.privacy.schemas import PrivacyDecision, PrivacyRequestCreate
from server.readings.influx import InfluxReadingStore
from server.readings.store import ReadingStore
from tests.server.sitting import DAY, B, at, person, presence, sat


@pytest.mark.anyio
async def test_a_person_exports_everything_and_an_erasure_leaves_the_aggregates(
    seated: Database, store: ReadingStore
) -> None:
    db = seated
    siti, budi = person(db, "siti"), person(db, "budi")
    mine = sat(db, siti, "za-0", day=date.today() - timedelta(days=1))
    sat(db, budi, "za-1", day=date.today() - timedelta(days=1))
    with db.session() as s:
        s.add(
            MailMessage(to=siti.email, subject="Pemesanan", body="Meja za-0", created_ms=at(DAY, 8))
        )
    day = date.today() - timedelta(days=1)
    await store.write([presence("za-0", at(day, 10), 1)])
    settings = ServerSettings(_env_file=None)  # type: ignore[call-arg]
    ctx = Context(db, store, settings.raw_retention_days)
    got = await subject.export(ctx, settings, "siti", "id", int(datetime.now().timestamp() * 1000))
    parts = {c["key"]: c["records"] for c in got["categories"]}
    assert set(parts) == {c.key for c in CATEGORIES}
    assert parts["account"][0]["email"] == siti.email and "password_hash" not in json.dumps(got)
    assert [b["id"] for b in parts["bookings"]] == [mine]  # budi's is not in it
    assert parts["mail"][0]["body"] == "Meja za-0"
    assert parts["presence"] == [
        {"building": B, "desk": "za-0", "at": parts["presence"][0]["at"], "occupied": True}
    ]
    assert got["categories"][0]["name"] == "Akun Anda"

    siti_p = Principal("siti", "employee", "siti")
    admin = Principal("root", "admin", "root")
    with db.session() as s:
        asked = subject.make_request(
            s, actor=siti_p, new=PrivacyRequestCreate(kind="erase"), now_ms=1
        )
    with db.session() as s, pytest.raises(Exception, match="refused"):
        subject.decide(
            s,
            admin=admin,
            request_id=asked.id,
            now_ms=2,
            decision=PrivacyDecision(carry_out=False, answer="no"),
        )
    with db.session() as s:
        done = subject.decide(
            s, admin=admin, request_id=asked.id, now_ms=3, decision=PrivacyDecision(carry_out=True)
        )
    assert done.state == "done" and done.decided_by == "root"
    with db.session() as s:
        assert s.scalar(select(User).where(User.username == "siti")) is None
        row = s.get(Booking, mine)
        assert row is not None and row.user_id is None and row.outcome == "attended"
        assert s.scalar(select(func.count()).select_from(MailMessage)) == 0
        trail = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert trail[-3:] == ["privacy.export", "privacy.request", "privacy.erase"]


@pytest.mark.anyio
async def test_a_store_that_cannot_delete_is_said_so_not_claimed(
    seated: Database, influxd: Service, unique_name: str
) -> None:
    # An InfluxDB that refuses DELETE (here: a database that is not there; InfluxDB 2.x
    # refuses DELETE through the v1 API altogether).
    store = InfluxReadingStore(url=f"http://127.0.0.1:{influxd.port}", database=unique_name)
    settings = ServerSettings(_env_file=None)  # type: ignore[call-arg]
    try:
        ran = {
            o.category: o
            for o in await Retention(
                Context(seated, store, settings.raw_retention_days), settings
            ).run()
        }
    finally:
        await store.close()
    assert ran["presence"].error and "database not found" in ran["presence"].error
    assert ran["bookings"].error is None  # the others are enforced all the same
    with seated.session() as s:
        runs = {r.category: r for r in s.scalars(select(RetentionRun))}
        s.expunge_all()
    said = {e.key: e for e in entries(settings, runs, "id")}
    assert said["presence"].problem is not None and said["presence"].enforced is None
    assert said["bookings"].problem is None and said["bookings"].enforced is not None
