"""Work plans (server/plans), on SQLite and PostgreSQL: a week and its days, the agency's
rules told and never applied, desks that follow the plan, a unit's week by who may see
it, an agency's expected days with small groups withheld, and the calendar's days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.audit.models import AuditEntry
from server.auth.schemas import Preferences, UserCreate
from server.auth.service import Principal, create_user, set_preferences
from server.bookings import service as bookings
from server.bookings.models import Booking
from server.calendar import admin as calendar
from server.calendar.schemas import AgencyPolicyDoc
from server.db import Database
from server.exceptions import Forbidden
from server.plans import follow as following
from server.plans import service, units
from server.plans.schemas import DayDoc, UnitDoc, WeekDoc
from server.privacy import handlers
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.office import WITA

B = "menara-r"
AG = "kemenko-pmk"
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=WITA)  # a Monday morning, before opening
MON = date(2026, 12, 7)
OFFICE_WEEK = ["office", "office", "home", "office", "home", None, None]


def _layout() -> dict[str, object]:
    desks = [{"id": f"u-{i}", "zone": "l2-u", "x": i, "y": 1} for i in range(1, 4)]
    desks += [
        {"id": f"s-{i}", "zone": "l2-s", "x": i, "y": 5, "neighbourhood": "l2-tim"}
        for i in range(1, 4)
    ]
    return {
        "building": {"id": B, "name": "Menara R"},
        "floors": [
            {
                "id": "l2",
                "name": "Lantai 2",
                "level": 2,
                "width": 40,
                "height": 10,
                "agency": AG,
                "zones": [
                    {"id": "l2-u", "name": "Sayap Utara"},
                    {"id": "l2-s", "name": "Sayap Selatan"},
                    {
                        "id": "l2-tim",
                        "name": "Area Pusdatin",
                        "kind": "neighbourhood",
                        "team": "Pusdatin",
                    },
                ],
                "desks": desks,
                "rooms": [],
            }
        ],
    }


@pytest.fixture
def unit(db: Database) -> dict[str, Principal]:
    """Agency PMK's floor, its unit Pusdatin (head: kepala), and six of its people."""
    people = {}
    with db.session() as s:
        agencies.create(s, actor="root", new=AgencyCreate(id=AG, name="PMK"))
        agencies.add_unit(s, actor="root", agency=AG, name="Pusdatin")
        agencies.add_unit(s, actor="root", agency=AG, name="Biro Umum")
        import_layout(s, parse_layout(_layout()))
        for name, team, role in (
            ("kepala", "Pusdatin", "employee"),
            ("ani", "Pusdatin", "employee"),
            ("bima", "Pusdatin", "employee"),
            ("citra", "Pusdatin", "employee"),
            ("dodi", "Biro Umum", "employee"),
            ("manajer", None, "agency_manager"),
        ):
            new = UserCreate(
                username=name,
                password="p" * 12,
                display_name=name.title(),
                role=role,
                agency=AG,
                team=team,
            )
            u = create_user(s, actor="t", new=new)
            people[name] = Principal(u.username, u.role, u.display_name, team, agency=AG)
        units.set_unit(
            s,
            actor="root",
            agency=AG,
            name="Pusdatin",
            doc=UnitDoc(supervisor="kepala", team_days=[1]),
            scope=None,
        )
    return people


def week(db: Database, who: Principal, places: list[str | None], **more: object) -> None:
    with db.session() as s:
        service.set_week(s, actor=who, doc=WeekDoc.model_validate({"week": places, **more}))
        following.follow(s, user=service.user_row(s, who.username), now=NOW)


def day(db: Database, who: Principal, d: date, place: str | None) -> following.Followed:
    with db.session() as s:
        service.set_day(s, actor=who, day=d, doc=DayDoc(place=place))  # type: ignore[arg-type]
        return following.follow(s, user=service.user_row(s, who.username), days=[d], now=NOW)


def desk_bookings(db: Database, username: str) -> list[tuple[date, str, str, str | None]]:
    with db.session(commit=False) as s:
        rows = s.scalars(
            select(Booking)
            .join(Booking.owner)
            .where(Booking.owner.has(username=username))
            .order_by(Booking.start_ms)
        ).all()
        return [
            (
                datetime.fromtimestamp(b.start_ms / 1000, WITA).date(),
                b.space_code,
                b.state,
                b.origin,
            )
            for b in rows
        ]


def test_a_week_and_a_day_make_the_plan_and_the_agencys_rules_are_told_not_applied(
    db: Database, unit: dict[str, Principal]
) -> None:
    ani = unit["ani"]
    with db.session() as s:
        calendar.set_agency_rules(
            s, actor="root", agency=AG, doc=AgencyPolicyDoc(min_office_days=3), scope=None
        )
    # Tuesday is the unit's team day, and ani plans it at home: two office days, not three.
    week(db, ani, ["office", "home", "office", "home", "home", None, None])
    day(db, ani, MON + timedelta(days=7), "leave")
    with db.session(commit=False) as s:
        got = service.plan(s, actor=ani, start=MON, count=14)
    assert got.week[:5] == ["office", "home", "office", "home", "home"]
    assert [d.place for d in got.days[:7]] == [
        "office",
        "home",
        "office",
        "home",
        "home",
        None,
        None,
    ]
    assert got.days[7].place == "leave"
    assert got.days[7].source == "day"
    assert got.days[5].closed  # Saturday: not an office day
    rules = [(f.rule, f.week_of or f.day) for f in got.findings]
    # The first week misses both rules; the second asks one office day fewer (leave excuses
    # a day), and its Tuesday is the team day again.
    assert ("min_office_days", MON) in rules
    assert ("team_day", MON + timedelta(days=1)) in rules
    assert ("team_day", MON + timedelta(days=8)) in rules
    second = next(f for f in got.findings if f.week_of == MON + timedelta(days=7))
    assert "3" in second.message or "at least" in second.message
    # Told, never changed: the plan is as ani set it.
    assert got.days[1].place == "home"


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
        from server.bookings.schemas import BookingCreate

        bookings.create(s, actor=ani, new=BookingCreate(building=B, desk="u-3", day=MON), now=NOW)
    week(db, ani, OFFICE_WEEK, book_ahead_days=1)
    assert [(x[1], x[3]) for x in desk_bookings(db, "ani")] == [("u-3", None)]


def test_a_units_week_shows_everyone_to_its_head_and_opted_in_office_days_to_colleagues(
    db: Database, unit: dict[str, Principal]
) -> None:
    for name, places in (
        ("ani", OFFICE_WEEK),
        ("bima", ["home", "office", "leave", "home", "home", None, None]),
        ("citra", ["office"] * 5 + [None, None]),
    ):
        week(db, unit[name], places)
    with db.session() as s:
        set_preferences(s, username="bima", prefs=Preferences(share_location=True))
    with db.session() as s:
        head = service.team_week(s, actor=unit["kepala"], start=MON)
        seen = service.team_week(s, actor=unit["ani"], start=MON)
    assert head.supervisor
    assert head.team_days == [1]
    assert {p.username for p in head.people} == {"ani", "bima", "citra", "kepala"}
    bima = next(p for p in head.people if p.username == "bima")
    assert bima.places[:3] == ["home", "office", "leave"]
    # ani sees herself and bima (who opted in), and of bima only the office day.
    assert not seen.supervisor
    assert {p.username for p in seen.people} == {"ani", "bima"}
    bima = next(p for p in seen.people if p.username == "bima")
    assert bima.places[:3] == [None, "office", None]
    # Another unit's person sees nothing of Pusdatin; the head's read is in the audit log.
    with db.session() as s, pytest.raises(Forbidden):
        service.team_week(s, actor=unit["dodi"], unit="Pusdatin", start=MON)
    with db.session(commit=False) as s:
        reads = s.scalars(
            select(AuditEntry).where(
                AuditEntry.actor == "kepala", AuditEntry.action == "personal.read"
            )
        ).all()
    assert len(reads) == 1


def test_an_agencys_expected_days_are_counts_with_small_groups_withheld(
    db: Database, unit: dict[str, Principal]
) -> None:
    for name in ("kepala", "ani", "bima", "citra", "dodi"):
        week(db, unit[name], ["office"] * 4 + ["home"] + [None, None])
    with db.session(commit=False) as s:
        days = service.attendance(
            s, actor=unit["manajer"], agency=AG, start=MON, count=5, min_group=3
        )
        with pytest.raises(Forbidden):
            service.attendance(s, actor=unit["ani"], agency=AG, start=MON, count=5)
        other = Principal("m2", "agency_manager", "M2", agency="kemenko-lain")
        with pytest.raises(Forbidden):
            service.attendance(s, actor=other, agency=AG, start=MON, count=5)
    assert days[0].places["office"] == 5
    assert days[4].places["home"] == 5
    assert days[0].people == 5
    # One person planning somewhere alone would be withheld; nobody is shown as 0.
    day(db, unit["ani"], MON, "travel")
    with db.session(commit=False) as s:
        days = service.attendance(
            s, actor=unit["manajer"], agency=AG, start=MON, count=1, min_group=3
        )
    assert days[0].places["travel"] is None
    assert days[0].places["office"] is None  # secondary suppression: 4 - total would tell
    assert days[0].places["home"] == 0


def test_the_calendar_has_office_and_leave_days_and_the_export_and_erasure_cover_plans(
    db: Database, unit: dict[str, Principal]
) -> None:
    ani = unit["ani"]
    week(db, ani, OFFICE_WEEK)
    leave = date.today() + timedelta(days=3)
    with db.session() as s:
        service.set_day(s, actor=ani, day=leave, doc=DayDoc(place="leave", note="Idul Fitri"))
    with db.session(commit=False) as s:
        events = service.calendar_days(s, actor=ani, language="id")
        user = service.user_row(s, "ani")
        exported = handlers.export_plans(s, user)
    summaries = {d: text for d, _, text in events}
    assert summaries[leave] == "Cuti: Idul Fitri"
    assert any(text == "Di kantor" for text in summaries.values())
    assert exported[0]["week"][:3] == ["office", "office", "home"]
    assert {"day": leave.isoformat(), "place": "leave", "note": "Idul Fitri"} in exported
    with db.session() as s:
        gone = handlers.erase_plans(s, service.user_row(s, "ani"))
    assert gone == 2
    with db.session(commit=False) as s:
        assert service.calendar_days(s, actor=ani, language="id") == []
