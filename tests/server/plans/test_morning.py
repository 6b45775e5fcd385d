"""The morning summary (server/plans/morning.py), on SQLite and PostgreSQL: on an office
day, from its minute, once, by the person's channels; nothing on a day away, nothing to
who turned it off."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from server.auth.models import User
from server.auth.service import Principal
from server.db import Database
from server.notify.models import MailMessage
from server.notify.service import Prefs, set_prefs
from server.plans.morning import mornings
from tests.server.plans.conftest import MON, OFFICE_WEEK, WITA, day, week

SIX_THIRTY = 6 * 60 + 30


def mail(db: Database) -> list[tuple[str, str]]:
    with db.session(commit=False) as s:
        return [(m.to, m.subject) for m in s.scalars(select(MailMessage).order_by(MailMessage.id))]


def test_an_office_day_is_summed_up_once_from_its_minute(
    db: Database, unit: dict[str, Principal]
) -> None:
    db.mail = True
    with db.session() as s:
        for name in ("ani", "bima"):
            row = s.scalar(select(User).where(User.username == name))
            assert row is not None
            row.email = f"{name}@example.go.id"
    week(db, unit["ani"], OFFICE_WEEK, book_ahead_days=1)  # Monday's desk is booked
    week(db, unit["bima"], OFFICE_WEEK)
    day(db, unit["bima"], MON, "home")
    early = datetime(2026, 12, 7, 6, 0, tzinfo=WITA)
    assert mornings(db, SIX_THIRTY, now=early) == 0
    at = early + timedelta(minutes=45)
    assert mornings(db, SIX_THIRTY, now=at) == 1
    assert mornings(db, SIX_THIRTY, now=at + timedelta(minutes=10)) == 0
    summaries = [(to, subject) for to, subject in mail(db) if subject.startswith("Hari ini")]
    assert summaries == [("ani@example.go.id", "Hari ini: Di kantor")]
    # Tuesday both are at the office, but ani turned the summary off.
    with db.session() as s:
        ani = s.scalar(select(User).where(User.username == "ani"))
        assert ani is not None
        set_prefs(s, ani.id, Prefs(morning=False))
    assert mornings(db, SIX_THIRTY, now=at + timedelta(days=1)) == 1
    summaries = [to for to, subject in mail(db) if subject.startswith("Hari ini")]
    assert summaries == ["ani@example.go.id", "bima@example.go.id"]
