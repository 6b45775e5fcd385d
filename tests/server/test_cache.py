"""What the server keeps from the database, and when it reads it again; SQLite's writers.

On SQLite and PostgreSQL: a change committed through the same ``Database`` shows at
once; one committed through another ``Database`` (another replica) within ``cache_s``;
a session's uncommitted write is never kept. The availability answer read from the two
kept layers equals one read afresh.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from harness.calendar import next_workday
from harness.layouts import one_floor
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.bookings import service
from server.bookings.availability import AvailabilityCache, AvailabilityQuery, availability
from server.bookings.models import Booking
from server.bookings.schemas import BookingCreate
from server.cache import TableCache
from server.calendar.models import BookingPolicy, ClosedDay
from server.calendar.policy import POLICY_FIELDS, Policy, closed_reason, policy_for
from server.db import CHANGES_NOTHING, Database, init_schema
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from server.spaces.models import Desk

B = "kantor-c"


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def building(db: Database) -> Database:
    with db.session() as s:
        import_layout(s, parse_layout(one_floor(B, "l1", ["m1", "m2", "m3"])))
        for name in ("siti", "budi"):
            create_user(
                s, actor="t", new=UserCreate(username=name, password="p" * 12, display_name=name)
            )
    return db


def fail_after_writing(db: Database) -> None:
    with db.session() as s:
        s.execute(update(Desk).values(quiet=False))
        raise RuntimeError


def test_generations_count_committed_changes_per_table(building: Database) -> None:
    db = building
    before = db.generation(("desks",)), db.generation(("bookings",))
    with db.session() as s:  # the ORM's unit of work
        desk = s.scalars(select(Desk).where(Desk.code == "m1")).one()
        desk.name = "Meja Jendela"
    assert db.generation(("desks",)) == before[0] + 1
    with db.session() as s:  # a statement
        s.execute(update(Desk).where(Desk.code == "m2").values(quiet=True))
    assert db.generation(("desks",)) == before[0] + 2
    with db.session(commit=False) as s:  # rolled back: nothing changed
        s.execute(update(Desk).values(quiet=False))
    with pytest.raises(RuntimeError):
        fail_after_writing(db)
    with db.session() as s:  # a write taken only for its lock
        s.execute(
            update(Desk).values(bookable=Desk.bookable), execution_options={CHANGES_NOTHING: True}
        )
    assert db.generation(("desks",)) == before[0] + 2
    assert db.generation(("bookings",)) == before[1]


def test_a_table_cache_reads_again_after_a_change_here_or_its_age_elsewhere(
    building: Database, database_url: str
) -> None:
    clock = Clock()
    cache: TableCache[str, int] = TableCache(building, ("desks",), clock=clock)
    reads: list[int] = []

    def quiet_desks() -> int:
        with building.session(commit=False) as s:
            reads.append(1)
            return len(s.scalars(select(Desk).where(Desk.quiet)).all())

    assert cache.get("quiet", quiet_desks) == 0
    assert cache.get("quiet", quiet_desks) == 0 and len(reads) == 1
    with building.session() as s:  # through this Database: read again at once
        s.execute(update(Desk).where(Desk.code == "m1").values(quiet=True))
    assert cache.get("quiet", quiet_desks) == 1 and len(reads) == 2
    other = Database(database_url)  # another replica
    try:
        with other.session() as s:
            s.execute(update(Desk).where(Desk.code == "m2").values(quiet=True))
    finally:
        other.close()
    assert cache.get("quiet", quiet_desks) == 1  # not seen yet ...
    clock.t += building.cache_s
    assert cache.get("quiet", quiet_desks) == 2 and len(reads) == 3  # ... until cache_s
    building.cache_s = 0
    cache.get("quiet", quiet_desks)
    assert len(reads) == 4  # 0 keeps nothing


def test_while_one_thread_reads_a_value_again_the_others_wait_only_for_a_change(
    building: Database,
) -> None:
    clock = Clock()
    cache: TableCache[str, int] = TableCache(building, ("desks",), clock=clock)
    assert cache.get("k", lambda: 1) == 1
    started, release = threading.Event(), threading.Event()

    def slow(value: int) -> int:
        started.set()
        assert release.wait(10)
        return value

    def in_thread(value: int, got: list[int]) -> threading.Thread:
        t = threading.Thread(target=lambda: got.append(cache.get("k", lambda: slow(value))))
        t.start()
        return t

    clock.t += building.cache_s  # only its age ran out: the others take the old value
    reader = in_thread(2, [])
    assert started.wait(10)
    assert cache.get("k", lambda: 99) == 1
    release.set()
    reader.join()
    assert cache.get("k", lambda: 99) == 2
    started.clear()
    release.clear()
    with building.session() as s:  # its table changed: everyone waits for the new value
        s.execute(update(Desk).values(quiet=True))
    reader = in_thread(3, [])
    assert started.wait(10)
    waited: list[int] = []
    waiter = threading.Thread(target=lambda: waited.append(cache.get("k", lambda: 99)))
    waiter.start()
    release.set()
    reader.join()
    waiter.join()
    assert waited == [3]


def policy_row(**rules: int) -> BookingPolicy:
    building_rules = {k: v for k, v in asdict(Policy()).items() if k in POLICY_FIELDS}
    return BookingPolicy(building_id=B, zone_id=None, **(building_rules | rules))


def test_rules_are_kept_but_a_session_sees_its_own_uncommitted_changes(
    building: Database,
) -> None:
    db = building
    with db.session() as s:
        assert policy_for(s, B, None).max_per_day == 1
        s.add(policy_row(max_per_day=3))
        s.flush()
        assert policy_for(s, B, None).max_per_day == 3  # its own change
        s.rollback()
    with db.session() as s:
        assert policy_for(s, B, None).max_per_day == 1  # the rolled-back one was not kept
        s.add(policy_row(max_per_day=2))
    with db.session() as s:
        assert policy_for(s, B, None).max_per_day == 2
    day = next_workday()
    with db.session() as s:
        assert closed_reason(s, B, day, policy_for(s, B, None)) is None
        s.add(ClosedDay(building_id=B, day=day.isoformat(), reason="fumigasi"))
    with db.session() as s:
        assert closed_reason(s, B, day, policy_for(s, B, None)) == "fumigasi"


def test_kept_availability_equals_a_fresh_read_and_follows_bookings(
    building: Database,
) -> None:
    db = building
    siti = Principal("siti", "employee", "siti")
    budi = Principal("budi", "employee", "budi")
    day = next_workday()
    start, end = datetime.fromisoformat(f"{day}T09:00"), datetime.fromisoformat(f"{day}T12:00")
    cache = AvailabilityCache(db, clock=Clock())
    ask = AvailabilityQuery(B, "l1", start, end)

    def states(who: Principal) -> dict[str, str]:
        body = cache.kept(ask, who) or cache.answer(ask, who)
        return {d["id"]: d["state"] for d in json.loads(body)}

    def fresh(who: Principal) -> dict[str, str]:
        with db.session(commit=False) as s:
            desks = availability(s, actor=who, building=B, floor="l1", start=start, end=end)
        return {d.id: d.state for d in desks}

    assert states(siti) == fresh(siti) == {"m1": "free", "m2": "free", "m3": "free"}
    with db.session() as s:
        service.create(
            s, actor=siti, new=BookingCreate(building=B, desk="m2", start=start, end=end)
        )
    assert cache.kept(ask, siti) is None  # the bookings layer is read again
    assert states(siti) == fresh(siti) == {"m1": "free", "m2": "yours", "m3": "free"}
    assert states(budi) == fresh(budi) == {"m1": "free", "m2": "booked", "m3": "free"}
    assert cache.floors.made == 1 and cache.bookings.made == 2
    with db.session() as s:
        s.execute(update(Booking).values(state="cancelled"))
    assert states(siti) == fresh(siti)


def test_sqlite_writers_take_turns_without_busy_errors(tmp_path: Path) -> None:
    # 16 threads each write 25 times in transactions that read, then write, then read.
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    init_schema(db.engine)
    with db.session() as s:
        import_layout(s, parse_layout(one_floor(B, "l1", ["m1"])))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with db.session() as s:
                    s.scalars(select(Desk)).all()
                    s.execute(update(Desk).values(name=f"Meja {n}-{i}"))
                    s.scalars(select(Desk)).all()
        except BaseException as exc:  # noqa: BLE001 (collected for the assertion)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.generation(("desks",)) == 1 + 16 * 25
    # A connection given back in the middle of a transaction gives its turn back too.
    conn = db.engine.connect()
    conn.execute(update(Desk).values(quiet=True))
    conn.close()
    after = threading.Thread(target=writer, args=(99,))
    after.start()
    after.join(timeout=10)  # a turn never given back would hold it for 30 s
    assert not after.is_alive() and errors == []
    db.close()
