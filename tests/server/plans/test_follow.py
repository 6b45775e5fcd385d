"""Desks that follow work plans (server/plans/follow.py), on SQLite and PostgreSQL: office
days get a desk in the preferred zone or the unit's, a day elsewhere releases the plan's
desk, and the plan never books over the person's own booking or cancellation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert, select

from server.audit.models import AuditEntry
from server.auth.models import User
from server.auth.service import Principal
from server.bookings import service as bookings
from server.bookings.models import Booking
from server.bookings.schemas import BookingCreate
from server.db import Database
from server.plans import follow as following
from server.plans import service
from server.plans.schemas import WeekDoc
from server.spaces.models import Desk
from tests.server.plans.conftest import MON, NOW, OFFICE_WEEK, B, day, desk_bookings, week


def test_office_days_get_a_desk_and_a_day_at_home_releases_it(
    db: Database, unit: dict[str, Principal]
) -> None:
    ani = unit["ani"]
    week(db, ani, OFFICE_WEEK, zone="l2-u", book_ahead_days=7)
    made = desk_bookings(db, "ani")
    # Monday, Tuesday and Thursday of this week: in ani's preferred zone, by the plan.
    assert [(d, state, origin) for d, _, state, origin in made] == [
        (MON, "booked", "plan"),
        (MON + timedelta(days=1), "booked", "plan"),
        (MON + timedelta(days=3), "booked", "plan"),
    ]
    assert all(code.startswith("u-") for _, code, _, _ in made)
    # Thursday at home instead: the plan's desk goes, and its reason says why.
    done = day(db, ani, MON + timedelta(days=3), "home")
    assert [d for d, _ in done.released] == [MON + timedelta(days=3)]
    with db.session(commit=False) as s:
        thursday = s.scalar(
            select(Booking).where(Booking.origin == "plan", Booking.state == "cancelled")
        )
        assert thursday is not None
        assert thursday.release_reason == "work plan: home"
        got = service.plan(s, actor=ani, start=MON, count=7)
    assert got.days[3].place == "home"
    assert got.days[3].booking is not None
    assert got.days[3].booking.state == "cancelled"
    # Back at the office: booked again (the plan released it, the person did not).
    day(db, ani, MON + timedelta(days=3), "office")
    assert [x[2] for x in desk_bookings(db, "ani") if x[0] == MON + timedelta(days=3)] == [
        "cancelled",
        "booked",
    ]


def test_a_booking_the_person_cancelled_is_not_made_again(
    db: Database, unit: dict[str, Principal]
) -> None:
    ani = unit["ani"]
    week(db, ani, OFFICE_WEEK, book_ahead_days=2)
    with db.session() as s:
        tuesday = s.scalars(select(Booking).order_by(Booking.start_ms)).all()[1]
        bookings.cancel(s, actor=ani, booking_id=tuesday.id)
    with db.session() as s:
        again = following.follow(s, user=service.user_row(s, "ani"), now=NOW)
    assert again.booked == []
    assert [x[2] for x in desk_bookings(db, "ani")] == ["booked", "cancelled"]


def test_the_plan_books_the_units_zone_and_never_over_the_persons_own_booking(
    db: Database, unit: dict[str, Principal]
) -> None:
    ani, bima = unit["ani"], unit["bima"]
    # bima (Pusdatin) has no preferred zone: the unit's neighbourhood comes first.
    week(db, bima, ["office", None, None, None, None, None, None], book_ahead_days=1)
    assert [x[1][:2] for x in desk_bookings(db, "bima")] == ["s-"]
    # ani booked Monday herself: the plan leaves the day alone.
    with db.session() as s:
        bookings.create(s, actor=ani, new=BookingCreate(building=B, desk="u-3", day=MON), now=NOW)
    week(db, ani, OFFICE_WEEK, book_ahead_days=1)
    assert [(x[1], x[3]) for x in desk_bookings(db, "ani")] == [("u-3", None)]


def _plans(db: Database, unit: dict[str, Principal], zones: dict[str, str | None]) -> None:
    """Plans kept, not yet followed: the job follows them."""
    with db.session() as s:
        for who, zone in zones.items():
            doc = {"week": OFFICE_WEEK, "zone": zone, "book_ahead_days": 2}
            service.set_week(s, actor=unit[who], doc=WeekDoc.model_validate(doc))


def test_the_job_books_everyones_days_together_as_each_alone_would(
    db: Database, unit: dict[str, Principal]
) -> None:
    _plans(db, unit, {"ani": "l2-u", "bima": None, "citra": None, "dodi": "l2-s"})
    with db.session() as s:  # bima took Monday's desk himself
        bookings.create(
            s, actor=unit["bima"], new=BookingCreate(building=B, desk="u-3", day=MON), now=NOW
        )
    done = following.follow_all(db, now=NOW)
    assert len(done.booked) == 7 and done.failed == []
    tue = MON + timedelta(days=1)
    # ani in her zone; bima's own Monday left, his Tuesday and citra's days in the unit's
    # neighbourhood; dodi preferred a zone reserved for Pusdatin, so sits elsewhere.
    assert [(d, c[:2], o) for d, c, _, o in desk_bookings(db, "ani")] == [
        (MON, "u-", "plan"),
        (tue, "u-", "plan"),
    ]
    assert [(d, c[:2], o) for d, c, _, o in desk_bookings(db, "bima")] == [
        (MON, "u-", None),
        (tue, "s-", "plan"),
    ]
    assert {c[:2] for _, c, _, _ in desk_bookings(db, "citra")} == {"s-"}
    assert {c[:2] for _, c, _, _ in desk_bookings(db, "dodi")} == {"u-"}
    with db.session(commit=False) as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "booking.create")).all()
        assert sum('"via": "plan"' in a.detail for a in audit) == 7
    # Nothing left to do the next time.
    again = following.follow_all(db, now=NOW)
    assert again.booked == [] and again.failed == []


def test_a_desk_taken_while_the_job_writes_sends_that_day_one_by_one(
    db: Database, unit: dict[str, Principal], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's write lock, taken first, lets nobody in meanwhile")
    _plans(db, unit, {"ani": "l2-u", "dodi": None})
    other = create_engine(database_url)

    def meanwhile(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("INSERT INTO bookings") or taken:
            return
        taken.append(statement)  # just before Monday is written, kepala books u-1 and u-2
        with other.begin() as c:
            for code in ("u-1", "u-2"):
                desk = c.scalar(select(Desk.id).where(Desk.building_id == B, Desk.code == code))
                c.execute(
                    insert(Booking).values(
                        building_id=B,
                        desk_id=desk,
                        space_code=code,
                        space_kind="desk",
                        user_id=c.scalar(select(User.id).where(User.username == "kepala")),
                        booked_by="kepala",
                        start_ms=int((NOW + timedelta(hours=3)).timestamp() * 1000),
                        end_ms=int((NOW + timedelta(hours=4)).timestamp() * 1000),
                        state="booked",
                        created_ms=0,
                    )
                )

    taken: list[str] = []
    event.listen(db.engine, "before_cursor_execute", meanwhile)
    try:
        done = following.follow_all(db, now=NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", meanwhile)
        other.dispose()
    assert taken
    # Monday went one by one: ani has the one desk of the north wing left, dodi none (the
    # south wing is Pusdatin's), and says so; Tuesday was booked together as usual.
    assert [(d, c) for d, c, _, _ in desk_bookings(db, "ani")][0] == (MON, "u-3")
    assert [d for d, _ in done.failed] == [MON]
    assert [d for d, _, _, _ in desk_bookings(db, "dodi")] == [MON + timedelta(days=1)]
    assert [c for _, c, _, _ in desk_bookings(db, "kepala")] == ["u-1", "u-2"]
