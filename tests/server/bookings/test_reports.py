"""The utilisation report (server/bookings/reports.py) withholds zones of too few people, and
not those who chose to be seen or bookings made anonymous."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.bookings.models import Booking
from server.bookings.reports import as_csv, utilization
from server.db import Database
from tests.server.office import OPERATOR
from tests.server.sitting import DAY, WITA, B, person, sat


def test_the_utilisation_report_withholds_zones_of_too_few_people(seated: Database) -> None:
    db = seated
    staff = [person(db, f"p{i}") for i in range(15)]
    for i, p in enumerate(staff[:6]):
        sat(db, p, f"za-{i}")
    for i, p in enumerate(staff[6:8]):
        sat(db, p, f"zb-{i}")
    for i, p in enumerate(staff[8:]):
        sat(db, p, f"zc-{i}")
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=WITA)
    end = start + timedelta(days=1)
    with db.session() as s:
        rows = {
            r.group: r
            for r in utilization(
                s, building=B, start=start, end=end, by="zone", min_group=5, actor=OPERATOR
            )
        }
        (whole,) = utilization(
            s, building=B, start=start, end=end, by="building", min_group=5, actor=OPERATOR
        )
        desks = utilization(
            s, building=B, start=start, end=end, by="desk", min_group=5, actor=OPERATOR
        )
    # zb has 2 people: withheld, and za (the smaller other) with it; zc's 7 are shown.
    assert rows["zb"].withheld and rows["zb"].bookings is None and rows["zb"].desks == 6
    assert rows["za"].withheld and rows["za"].attended_hours is None
    assert not rows["zc"].withheld and rows["zc"].bookings == 7
    assert not whole.withheld and whole.bookings == 15
    # A desk is one person's here: every booked desk's row is withheld; nobody's are shown.
    assert {r.group for r in desks if r.withheld} == {f"za-{i}" for i in range(6)} | {
        "zb-0",
        "zb-1",
    } | {f"zc-{i}" for i in range(7)}
    assert all(r.bookings == 0 for r in desks if not r.withheld)
    # The CSV carries the same: empty figures and withheld=True.
    lines = as_csv(list(rows.values())).splitlines()
    assert lines[0].startswith("group,desks,open_desk_hours,withheld,bookings")
    assert any(line.startswith("zb,6,") and ",True,,," in line for line in lines)


def test_people_who_chose_to_be_visible_and_anonymised_bookings_are_not_withheld(
    seated: Database,
) -> None:
    db = seated
    a, b = person(db, "ani", share=True), person(db, "bayu", share=True)
    sat(db, a, "zb-0")
    sat(db, b, "zb-1")
    c = person(db, "cici")
    sat(db, c, "za-0")
    with db.session() as s:
        s.execute(Booking.__table__.update().where(Booking.user_id == c.id).values(user_id=None))
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=WITA)
    with db.session() as s:
        rows = {
            r.group: r
            for r in utilization(
                s,
                building=B,
                start=start,
                end=start + timedelta(days=1),
                by="zone",
                min_group=5,
                actor=OPERATOR,
            )
        }
    assert not rows["zb"].withheld and rows["zb"].bookings == 2  # both opted in
    assert not rows["za"].withheld and rows["za"].bookings == 1  # names nobody any more
