"""Making bookings on SQLite and PostgreSQL: a desk once per slot, series, on behalf,
never two at once however many ask, the sweeper in one replica, colleagues who opted in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from harness.calendar import next_workday
from harness.layouts import one_floor
from harness.platform import Platform
from harness.services import wait_for
from server.auth.models import User
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.bookings import service
from server.calendar.models import BookingPolicy, ClosedDay
from server.db import Database
from tests.server.office import WED, WITA, B, at, book, refused


def test_a_desk_is_booked_once_per_slot(db: Database, people: dict[str, Principal]) -> None:
    siti, budi = people["siti"], people["budi"]
    made = book(db, siti, desk="m1", start=at(WED, 9), end=at(WED, 12)).created[0]
    assert (made.space, made.user, made.state) == ("m1", "siti", "booked")
    assert made.start.utcoffset() == timedelta(hours=8) and made.start.hour == 9
    taken = refused(db, budi, desk="m1", start=at(WED, 11), end=at(WED, 13))
    assert (taken.rule, taken.status) == ("conflict", 409)
    assert str(taken) == "desk m1 is already booked 2026-12-02 09:00-2026-12-02 12:00"
    # Back to back is fine: a slot ends when the next one starts.
    assert book(db, budi, desk="m1", start=at(WED, 12), end=at(WED, 14)).created
    mine = refused(db, siti, desk="m2", start=at(WED, 10), end=at(WED, 11))
    assert mine.rule == "overlap_self"
    # A meeting room is not a desk: siti may hold one while she has her desk.
    assert book(db, siti, room="r1", start=at(WED, 10), end=at(WED, 11)).created


def test_a_slot_across_midnight_is_offset_correct(
    db: Database, people: dict[str, Principal]
) -> None:
    with db.session() as s:
        s.add(
            BookingPolicy(
                building_id=B,
                window_days=14,
                min_minutes=30,
                max_minutes=720,
                max_per_day=2,
                max_per_week=9,
                open_minute=0,
                close_minute=1440,
                weekdays="0,1,2,3,4",
                checkin_grace_minutes=15,
                public_holidays=True,
            )
        )
    night = book(
        db, people["budi"], desk="m2", start=at(WED, 22), end=at(WED + timedelta(days=1), 2)
    ).created[0]
    assert night.start.isoformat() == "2026-12-02T22:00:00+08:00"
    assert night.end.isoformat() == "2026-12-03T02:00:00+08:00"
    # Stored in UTC: 14:00 to 18:00 Z.
    with db.session() as s:
        row, _ = service.get(s, actor=people["budi"], booking_id=night.id)
        assert datetime.fromtimestamp(row.start_ms / 1000, ZoneInfo("UTC")).hour == 14


def test_weekly_series_books_what_it_can_and_says_what_failed(
    db: Database, people: dict[str, Principal]
) -> None:
    result = book(
        db,
        people["siti"],
        desk="m1",
        start=at(date(2026, 12, 7), 8),
        end=at(date(2026, 12, 7), 12),
        repeat={"weekdays": [0, 3, 4], "until": date(2026, 12, 14)},
    )
    assert [b.start.date().isoformat() for b in result.created] == [
        "2026-12-07",
        "2026-12-10",
        "2026-12-11",
        "2026-12-14",
    ]
    assert len({b.series_id for b in result.created}) == 1
    with db.session() as s:
        s.add(ClosedDay(building_id=None, day="2026-12-08", reason="Rapat Kerja Nasional"))
    later = book(
        db,
        people["budi"],
        desk="m1",
        start=at(date(2026, 12, 1), 13),
        end=at(date(2026, 12, 1), 15),
        repeat={"weekdays": [1], "until": date(2026, 12, 15)},
    )
    assert [b.start.date().isoformat() for b in later.created] == ["2026-12-01"]
    assert [(f.day.isoformat(), f.rule) for f in later.failed] == [
        ("2026-12-08", "closed_day"),
        ("2026-12-15", "booking_window"),
    ]


def test_managers_book_for_colleagues_and_employees_do_not(
    db: Database, people: dict[str, Principal]
) -> None:
    r = refused(db, people["budi"], desk="m1", day=WED, for_user="siti")
    assert (r.rule, r.status) == ("on_behalf", 403)
    made = book(db, people["rina"], desk="m3", day=WED, for_user="budi").created[0]
    # A manager may seat a guest of another team in a neighbourhood.
    assert (made.user, made.booked_by, made.space) == ("budi", "rina", "m3")
    assert made.start == at(WED, 7) and made.end == at(WED, 19)


@pytest.fixture
def platform(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    p = Platform(tmp_path, {"SMARTOFFICE_DATABASE_URL": database_url}, gateway_id="gw-d")
    p.register([], building=B)
    p.start_server()
    assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, "l1", ["m1"])).is_success
    yield p
    p.stop()


def test_200_concurrent_bookings_of_one_desk_make_exactly_one(platform: Platform) -> None:
    day = next_workday()
    body = {"building": B, "desk": "m1", "start": f"{day}T09:00", "end": f"{day}T12:00"}
    roles = ("employee", "installer", "facility_manager", "admin")
    headers = {role: platform.headers(role) for role in roles}
    assert platform.server is not None

    async def fire() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(
            base_url=platform.server.url,
            timeout=120,  # type: ignore[union-attr]
            limits=limits,
        ) as client:
            return await asyncio.gather(
                *(
                    client.post("/api/v1/bookings", json=body, headers=headers[roles[i % 4]])
                    for i in range(200)
                )
            )

    answers = asyncio.run(fire())
    codes = [r.status_code for r in answers]
    assert codes.count(201) == 1, {c: codes.count(c) for c in set(codes)}
    assert codes.count(409) == 199
    assert {r.json()["rule"] for r in answers if r.status_code == 409} <= {
        "conflict",
        "conflict_race",
    }
    # Names in a building's list only for an admin stating a reason (audited).
    listed = platform.api(
        "GET",
        "/api/v1/bookings",
        params={"building": B, "day": str(day), "reason": "which role won the race"},
    )
    assert len(listed.json()) == 1
    winner = listed.json()[0]["user"].replace("-", "_")
    slot = {"building": B, "floor": "l1", "start": body["start"], "end": body["end"]}
    seen = platform.api("GET", "/api/v1/availability", winner, params=slot)
    assert seen.headers["content-type"] == "application/json"
    assert [(d["id"], d["state"]) for d in seen.json()] == [("m1", "yours")]
    other = next(r for r in roles if r != winner)
    assert platform.api("GET", "/api/v1/availability", other, params=slot).json()[0]["reason"] == (
        "booked by a colleague"
    )


def test_concurrent_bookings_of_one_desk_in_different_slots_all_succeed(
    platform: Platform,
) -> None:
    # Each booking refreshes its desk's LED state; the first ones of a desk create its
    # live row, and requests racing to create it must not fail (they once answered 500).
    # Everyone books every desk for a different hour: no person or desk is held twice.
    desks = [f"m{i}" for i in range(1, 9)]
    assert platform.api("PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, "l1", desks))
    policy = {"max_per_day": 24, "max_per_week": 100}
    assert platform.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=policy).is_success
    day = next_workday()
    roles = ("employee", "installer", "facility_manager", "admin")
    headers = {role: platform.headers(role) for role in roles}
    assert platform.server is not None

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=platform.server.url, timeout=120) as client:  # type: ignore[union-attr]
            return await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/bookings",
                        headers=headers[role],
                        json={
                            "building": B,
                            "desk": desk,
                            "start": f"{day}T{7 + (i + j) % 8:02d}:00",
                            "end": f"{day}T{8 + (i + j) % 8:02d}:00",
                        },
                    )
                    for j, desk in enumerate(desks)
                    for i, role in enumerate(roles)
                )
            )

    codes = [r.status_code for r in asyncio.run(fire())]
    assert codes == [201] * len(codes), codes
    seen = platform.api("GET", "/api/v1/occupancy/live", params={"building": B, "floor": "l1"})
    assert [d["id"] for d in seen.json()] == desks


def test_only_the_replica_with_the_sweeper_releases_no_shows(tmp_path: Path) -> None:
    env = {"SMARTOFFICE_SWEEPER": "false", "SMARTOFFICE_BOOKING_SWEEP_S": "0.2"}
    p = Platform(tmp_path, env, gateway_id="gw-s")
    p.register([], building=B)
    try:
        p.start_server()
        assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, "l1", ["m1"]))
        always = {
            "open_minute": 0,
            "close_minute": 1440,
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "public_holidays": False,
        }
        assert p.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=always).is_success
        now = datetime.now(WITA).replace(microsecond=0)
        slot = {
            "building": B,
            "desk": "m1",
            "start": (now - timedelta(minutes=20)).isoformat(),
            "end": (now + timedelta(minutes=40)).isoformat(),
        }
        made = p.api("POST", "/api/v1/bookings", "employee", json=slot).json()["created"][0]
        state = lambda: p.api("GET", f"/api/v1/bookings/{made['id']}", "employee").json()  # noqa: E731
        time.sleep(2)  # ten sweeps' time: this replica does not sweep
        assert state()["state"] == "booked"
        assert p.server is not None
        p.server.stop()
        p.server, p.server_env["SMARTOFFICE_SWEEPER"] = None, "true"
        p.start_server()  # the sweeping replica, on the same database
        wait_for(lambda: state()["outcome"] == "no_show", "the sweeper did not release it")
    finally:
        p.stop()


def test_colleague_finder_shows_only_teammates_who_opted_in(
    db: Database, people: dict[str, Principal]
) -> None:
    with db.session() as s:
        new = UserCreate(username="andi", password="p" * 12, display_name="Andi", team="Pusdatin")
        create_user(s, actor="t", new=new)
    andi = Principal("andi", "employee", "Andi", "Pusdatin")
    book(db, andi, desk="m3", start=at(WED, 9), end=at(WED, 12))
    book(db, people["budi"], desk="m1", start=at(WED, 9), end=at(WED, 12))
    with db.session() as s:
        assert service.colleagues(s, actor=people["siti"], day=WED) == []  # andi did not opt in
        user = s.scalar(select(User).where(User.username == "andi"))
        assert user is not None
        user.share_location = True
        budi = s.scalar(select(User).where(User.username == "budi"))
        assert budi is not None
        budi.share_location = True  # another team: never shown to siti
    with db.session() as s:
        found = service.colleagues(s, actor=people["siti"], day=WED)
        assert [(c["username"], c["floor"], c["desk"], c["here"]) for c in found] == [
            ("andi", "l1", "m3", False)
        ]
        assert service.colleagues(s, actor=people["rina"], day=WED) == []  # no team
