"""Desks out of use (server/bookings/blocks.py): blocked for everyone with the reason, listed
for the administrators in the building's zone, and back in use when the block ends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.audit.service import entries
from server.auth.service import Principal
from server.bookings.blocks import block_desk, blocks, end_block
from server.bookings.schemas import DeskBlockDoc
from server.db import Database
from server.exceptions import NotFoundError, Refusal
from tests.server.office import NOW, WED, B, at, book, free, refused


def test_a_blocked_desk_is_refused_with_its_reason_and_free_again_when_the_block_ends(
    db: Database, people: dict[str, Principal]
) -> None:
    budi = people["budi"]
    with db.session() as s:
        block = block_desk(
            s,
            actor="rina",
            building=B,
            desk="m2",
            doc=DeskBlockDoc(start=at(WED, 0), end=at(WED, 23), reason="kursi rusak"),
        )
    taken = refused(db, budi, desk="m2", start=at(WED, 9), end=at(WED, 10))
    assert (taken.rule, str(taken)) == ("maintenance", "desk m2 is blocked: kursi rusak")
    shown = {d.id: (d.state, d.reason) for d in free(db, budi, at(WED, 9), at(WED, 10))}
    assert shown["m2"] == ("blocked", "kursi rusak")
    with db.session() as s:
        [listed] = blocks(s, building=B, now=NOW)
        assert (listed.id, listed.desk, listed.reason, listed.created_by) == (
            block,
            "m2",
            "kursi rusak",
            "rina",
        )
        assert listed.start == at(WED, 0) and listed.start.utcoffset() == timedelta(hours=8)
        # Not begun yet (the block is for tomorrow): ending it drops it, as if it never was.
        assert end_block(s, actor="rina", block_id=block, now=NOW) == "m2"
        assert blocks(s, building=B, now=NOW) == []
        trail = [e.action for e in entries(s, target_kind="desk", target_id=f"{B}/m2")]
        assert trail == ["desk.unblock", "desk.block"]
    assert book(db, budi, desk="m2", start=at(WED, 9), end=at(WED, 10)).created


def test_a_block_already_begun_ends_now_and_its_past_stays_on_record(
    db: Database, people: dict[str, Principal]
) -> None:
    now = datetime.now(NOW.tzinfo).replace(microsecond=0)
    with db.session() as s:
        block = block_desk(
            s,
            actor="rina",
            building=B,
            desk="m1",
            doc=DeskBlockDoc(
                start=now - timedelta(hours=1), end=now + timedelta(days=1), reason="cat"
            ),
        )
        end_block(s, actor="rina", block_id=block)
        [kept] = blocks(s, building=B, now=now - timedelta(minutes=30))
        assert kept.end <= datetime.now(NOW.tzinfo) and kept.start == now - timedelta(hours=1)


def test_a_block_must_end_after_it_begins_and_name_a_desk_and_block_that_exist(
    db: Database, people: dict[str, Principal]
) -> None:
    with db.session() as s, pytest.raises(Refusal, match="the end must be after the start"):
        block_desk(
            s,
            actor="rina",
            building=B,
            desk="m1",
            doc=DeskBlockDoc(start=at(WED, 12), end=at(WED, 9), reason="x"),
        )
    with db.session() as s, pytest.raises(NotFoundError):
        block_desk(
            s,
            actor="rina",
            building=B,
            desk="m9",
            doc=DeskBlockDoc(start=at(WED, 9), end=at(WED, 12), reason="x"),
        )
    with db.session() as s, pytest.raises(NotFoundError, match="no desk block 404"):
        end_block(s, actor="rina", block_id=404)
