"""Desks that follow work plans (server/plans/follow.py), on SQLite and PostgreSQL: office
days get a desk in the preferred zone or the unit's, a day elsewhere releases the plan's
desk, and the plan never books over the person's own booking or cancellation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.auth.service import Principal
from server.bookings import service as bookings
from server.bookings.models import Booking
from server.bookings.schemas import BookingCreate
from server.db import Database
from server.plans import follow as following
from server.plans import service
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
