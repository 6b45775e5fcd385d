"""A reminder's answers (server/bookings/answers.py), on SQLite and PostgreSQL, on a clock the
test moves: "I am coming" keeps the desk past the grace and the sensor may still check the
person in; nobody came by then, it is a no-show; "release it" frees the desk; a link of
another booking's, or forged, does nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.bookings import answers
from server.bookings.models import Booking
from server.bookings.presence import DeskMonitor
from server.db import Database
from server.exceptions import NotFoundError, Refusal
from server.notify.service import Notifying
from tests.server.bookings.test_presence import Clock, book, booking, seen

LINKS = Notifying(public_url="https://so.example.go.id", secret="s" * 32, hold_minutes=15)


def link_of(db: Database, booking_id: int) -> str:
    with db.session() as s:
        row = s.get(Booking, booking_id)
        assert row is not None and row.owner is not None
        return LINKS.signer().dumps({"b": row.id, "u": row.owner.uid})


def answer(db: Database, token: str, action: str, at: datetime) -> answers.Answered:
    with db.session() as s:
        return answers.answer(s, token=token, action=action, now=at)


def test_i_am_coming_keeps_the_desk_past_the_grace_and_the_sensor_still_checks_in(
    db: Database, world: tuple[DeskMonitor, Clock, object]
) -> None:
    db.notifying = LINKS
    monitor, clock, siti = world
    start = clock.at(9)
    b = book(db, siti, start, start + timedelta(hours=3))  # type: ignore[arg-type]
    said = answer(db, link_of(db, b), "coming", clock.at(9, 10))
    # Held from the end of the grace (15 min) for 15 more: until 09:30.
    assert said.held_until is not None and said.held_until.strftime("%H:%M") == "09:30"
    monitor.settle(int(clock.at(9, 20).timestamp() * 1000))
    assert booking(db, b).state == "booked"  # past the grace, still waiting
    clock.at(9, 25)
    seen(monitor, clock, True)
    assert booking(db, b).state == "checked_in"
    assert booking(db, b).checked_in_by == "sensor"


def test_nobody_came_by_the_hold_is_a_no_show_and_the_hold_is_given_once(
    db: Database, world: tuple[DeskMonitor, Clock, object]
) -> None:
    db.notifying = LINKS
    monitor, clock, siti = world
    start = clock.at(9)
    b = book(db, siti, start, start + timedelta(hours=3))  # type: ignore[arg-type]
    token = link_of(db, b)
    answer(db, token, "coming", clock.at(9, 14))
    again = answer(db, token, "coming", clock.at(9, 29))
    assert again.held_until is not None and again.held_until.strftime("%H:%M") == "09:30"
    monitor.settle(int(clock.at(9, 31).timestamp() * 1000))
    row = booking(db, b)
    assert (row.state, row.outcome) == ("released", "no_show")
    with pytest.raises(Refusal):
        answer(db, token, "coming", clock.at(9, 40))


def test_release_it_frees_the_desk_and_a_forged_or_foreign_link_does_nothing(
    db: Database, world: tuple[DeskMonitor, Clock, object]
) -> None:
    db.notifying = LINKS
    _, clock, siti = world
    start = clock.at(9)
    b = book(db, siti, start, start + timedelta(hours=3))  # type: ignore[arg-type]
    token = link_of(db, b)
    with pytest.raises(NotFoundError):
        answer(db, token[:-2] + "xx", "release", clock.at(9, 5))
    other = Notifying(public_url="x", secret="another server's" * 3)
    with pytest.raises(NotFoundError):
        answer(db, other.signer().dumps({"b": b, "u": "nobody"}), "release", clock.at(9, 5))
    assert booking(db, b).state == "booked"
    done = answer(db, token, "release", clock.at(9, 5))
    assert (done.action, done.space) == ("release", "m1")
    assert booking(db, b).state == "cancelled"
