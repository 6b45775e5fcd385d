"""Checking in and out (server/bookings/checkin.py): when it opens, who may, what it records."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from server.audit.service import entries
from server.auth.service import Principal
from server.bookings import checkin, service
from server.bookings.reports import utilization
from server.db import Database
from server.exceptions import NotFoundError, Refusal
from tests.server.office import OPERATOR, WED, WITA, B, at, book, free


def test_check_in_out_cancel_and_availability(db: Database, people: dict[str, Principal]) -> None:
    siti, budi = people["siti"], people["budi"]
    b1 = book(db, siti, desk="m1", start=at(WED, 9), end=at(WED, 17)).created[0]
    b2 = book(db, budi, desk="m2", start=at(WED, 9), end=at(WED, 17)).created[0]
    states = {d.id: (d.state, d.reason) for d in free(db, siti, at(WED, 10), at(WED, 11))}
    assert states == {
        "m1": ("yours", None),
        "m2": ("booked", "booked by a colleague"),
        "m3": ("free", None),
        "m4": ("not_bookable", "not bookable"),
    }
    for_budi = {d.id: d.state for d in free(db, budi, at(WED, 10), at(WED, 11))}
    assert for_budi["m3"] == "team_zone"
    with db.session() as s, pytest.raises(Refusal, match="check-in opens at 2026-12-02 08:45"):
        checkin.check_in(s, actor=siti, booking_id=b1.id, now=at(WED, 8, 40))
    with db.session() as s:
        done = checkin.check_in(s, actor=siti, booking_id=b1.id, now=at(WED, 8, 50))
    assert done.state == "checked_in" and done.checked_in_by == "app"  # the booker's word
    with db.session() as s, pytest.raises(Refusal, match="only a booked one can be cancelled"):
        service.cancel(s, actor=siti, booking_id=b1.id)
    with db.session() as s:
        out = checkin.check_out(s, actor=siti, booking_id=b1.id, now=at(WED, 12))
        gone = service.cancel(s, actor=budi, booking_id=b2.id)
    assert (out.state, out.outcome) == ("completed", "attended")
    assert (gone.state, gone.outcome) == ("cancelled", "cancelled")
    states = {d.id: d.state for d in free(db, budi, at(WED, 13), at(WED, 14))}
    assert states["m1"] == "free" and states["m2"] == "free"
    with db.session() as s, pytest.raises(NotFoundError, match="no booking"):
        service.get(s, actor=budi, booking_id=b1.id)  # not his, not telling
    xmas = date(2026, 12, 25)
    closed = free(db, budi, at(xmas, 9), at(xmas, 10), now=datetime(2026, 12, 20, tzinfo=WITA))
    assert {d.state for d in closed} == {"closed", "not_bookable"}
    assert closed[0].reason == "2026-12-25 is closed: Hari Raya Natal"


def test_a_manager_checks_in_for_a_colleague_on_record_and_apart_in_reports(
    db: Database, people: dict[str, Principal]
) -> None:
    """The review: a manager could check a colleague in, and it counted as attended like a
    sensor's check-in. Who may is now a rule, who did it is kept, and reports tell apart."""
    siti, budi, rina = people["siti"], people["budi"], people["rina"]
    b1 = book(db, siti, desk="m1", start=at(WED, 9), end=at(WED, 12)).created[0]
    b2 = book(db, budi, desk="m2", start=at(WED, 9), end=at(WED, 12)).created[0]
    with db.session() as s, pytest.raises(NotFoundError, match="no booking"):
        checkin.check_in(s, actor=budi, booking_id=b1.id, now=at(WED, 9))  # not his
    with db.session() as s, pytest.raises(Refusal, match="check-in opens"):
        checkin.check_in(s, actor=rina, booking_id=b1.id, now=at(WED, 8))  # not before the day
    with db.session() as s:
        done = checkin.check_in(s, actor=rina, booking_id=b1.id, now=at(WED, 9, 5))
        checkin.check_in(s, actor=budi, booking_id=b2.id, now=at(WED, 9, 5))
        out = checkin.check_out(s, actor=rina, booking_id=b1.id, now=at(WED, 11))
    assert (done.checked_in_by, done.checked_in_actor) == ("manager", "rina")
    assert out.state == "completed"
    with db.session() as s:
        trail = [
            (a.action, a.actor, a.detail.get("on_behalf_of"))
            for a in entries(s, target_kind="booking", target_id=str(b1.id), limit=10)
        ]
        [row] = utilization(
            s,
            building=B,
            start=at(WED, 0),
            end=at(WED, 23),
            by="building",
            min_group=1,
            actor=OPERATOR,
        )
    assert ("booking.check_in", "rina", "siti") in trail
    assert ("booking.check_out", "rina", "siti") in trail
    assert (row.checked_in_by_manager, row.checked_in_by_booker, row.checked_in_by_sensor) == (
        1,
        1,
        0,
    )
