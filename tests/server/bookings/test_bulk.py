"""Many people's desks for a day at once (server/bookings/bulk.py): the same rules, the
same refusals as one booking at a time, written together with their audit entries, and a
desk taken meanwhile gives the whole back (PostgreSQL's exclusion constraint)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, insert, select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.auth.models import User
from server.auth.service import Principal
from server.bookings.bulk import Booked, DeskAsk, RaceLost, book_desks
from server.bookings.models import Booking
from server.calendar.models import BookingPolicy
from server.db import Database
from server.exceptions import Refusal
from server.spaces.models import Desk
from tests.server.office import NOW, WED, B, at, book, refused


def _user(s: Session, name: str) -> User:
    found = s.scalar(select(User).where(User.username == name))
    assert found is not None
    return found


def _bulk(db: Database, asks: list[tuple[str, list[str]]]) -> list[Booked | Refusal]:
    with db.session() as s:
        made = [DeskAsk(user=_user(s, who), order=order) for who, order in asks]
        return book_desks(s, building=B, day=WED, asks=made, now=NOW, origin="plan")


def test_the_same_desks_and_refusals_as_one_booking_at_a_time(
    db: Database, people: dict[str, Principal]
) -> None:
    book(db, people["budi"], desk="m2", start=at(WED, 8), end=at(WED, 10))
    # What the booking service says, one desk at a time, to each of them.
    assert refused(db, people["budi"], desk="m1", day=WED).rule == "overlap_self"
    assert refused(db, people["siti"], desk="m4", day=WED).rule == "not_bookable"
    assert refused(db, people["siti"], desk="m2", day=WED).rule == "conflict"
    assert refused(db, people["budi"], desk="m3", day=WED).rule == "team_zone"

    out = _bulk(
        db,
        [
            ("budi", ["m1", "m3"]),  # he has m2 then: no desk helps
            ("siti", ["m4", "m2", "m3", "m1"]),  # not bookable, taken, then her team's desk
            ("rina", ["m3", "m1"]),  # siti has just had m3
        ],
    )
    budi, siti, rina = out
    assert isinstance(budi, Refusal) and budi.rule == "overlap_self"
    assert "you already have desk m2 then" in str(budi)
    assert isinstance(siti, Booked) and siti.space_code == "m3"
    assert isinstance(rina, Booked) and rina.space_code == "m1"
    with db.session(commit=False) as s:
        rows = s.scalars(select(Booking).where(Booking.origin == "plan")).all()
        assert {(r.space_code, r.booked_by, r.state) for r in rows} == {
            ("m3", "siti", "booked"),
            ("m1", "rina", "booked"),
        }
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "booking.create")).all()
        assert {(a.actor, a.target_id) for a in audit} >= {
            ("siti", str(siti.id)),
            ("rina", str(rina.id)),
        }
        assert all('"via": "plan"' in a.detail for a in audit if a.actor != "budi")
    # Now booked, m1 is refused to the next either way, in the same words.
    said = refused(db, people["siti"], desk="m1", day=WED)
    (again,) = _bulk(db, [("siti", ["m1"])])
    assert isinstance(again, Refusal) and again.rule == said.rule == "conflict"
    assert str(again) == str(said)


def test_the_weeks_limit_counts_the_bookings_made_in_the_same_run(
    db: Database, people: dict[str, Principal]
) -> None:
    with db.session() as s:
        s.add(BookingPolicy(building_id=B, **{**_OPEN, "max_per_week": 1}))
    book(db, people["budi"], desk="m1", day=WED.replace(day=1), now=NOW)  # Tuesday's desk
    said = refused(db, people["budi"], desk="m2", day=WED)
    (out,) = _bulk(db, [("budi", ["m2", "m1"])])
    assert isinstance(out, Refusal) and out.rule == said.rule == "max_per_week"
    assert str(out) == str(said)


def test_a_desk_taken_meanwhile_gives_the_whole_run_back(
    db: Database, people: dict[str, Principal], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's write lock, taken first, lets nobody in meanwhile")
    other = create_engine(database_url)
    with db.session() as s:
        siti, budi = _user(s, "siti"), _user(s, "budi")
        asks = [DeskAsk(user=siti, order=["m1"]), DeskAsk(user=budi, order=["m2"])]
        rina = _user(s, "rina").id

        def meanwhile(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if not statement.startswith("INSERT INTO bookings") or done:
                return
            done.append(statement)  # just before the run writes, another server books m2
            with other.begin() as c:
                c.execute(
                    insert(Booking).values(
                        building_id=B,
                        desk_id=_desk(c, "m2"),
                        space_code="m2",
                        space_kind="desk",
                        user_id=rina,
                        booked_by="rina",
                        start_ms=int(at(WED, 9).timestamp() * 1000),
                        end_ms=int(at(WED, 10).timestamp() * 1000),
                        state="booked",
                        created_ms=0,
                    )
                )

        done: list[str] = []
        event.listen(db.engine, "before_cursor_execute", meanwhile)
        with pytest.raises(RaceLost):
            book_desks(s, building=B, day=WED, asks=asks, now=NOW, origin="plan")
        event.remove(db.engine, "before_cursor_execute", meanwhile)
        s.rollback()
        assert done
    other.dispose()
    with db.session(commit=False) as s:  # nothing of the run; the other's booking stays
        assert s.scalar(select(func.count()).where(Booking.origin == "plan")) == 0
        assert s.scalar(select(func.count()).select_from(Booking)) == 1


def _desk(c: Any, code: str) -> int:
    return int(c.scalar(select(Desk.id).where(Desk.building_id == B, Desk.code == code)))


_OPEN = {
    "window_days": 30,
    "min_minutes": 30,
    "max_minutes": 1440,
    "max_per_day": 1,
    "open_minute": 7 * 60,
    "close_minute": 19 * 60,
    "weekdays": "0,1,2,3,4",
    "checkin_grace_minutes": 15,
    "public_holidays": True,
}
