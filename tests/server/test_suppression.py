"""Small groups withheld (server/suppression.py): the smallest others go too, until no total
gives one away."""

from __future__ import annotations

import pytest

from server.db import Database
from server.suppression import withheld
from tests.server.sitting import seat_building


@pytest.fixture
def building(db: Database) -> Database:
    return seat_building(db)


def test_small_groups_are_withheld_with_the_smallest_others_until_no_total_gives_one_away() -> None:
    members = {"a": {1, 2, 3, 4, 5, 6}, "b": {7, 8}, "c": set(range(10, 17)), "d": set()}
    # b alone (2 people): a building total minus a and c would give b away, so a goes too.
    assert withheld(members, 5) == {"a", "b"}
    assert withheld(members, 2) == set()
    assert withheld(members, 1) == set()
    # Everyone in b chose to be visible: nothing to protect.
    assert withheld(members, 5, visible={7, 8}) == set()
    # Two small groups that together hold enough people protect each other.
    assert withheld({"x": {1, 2, 3}, "y": {4, 5, 6}, "z": set(range(10, 30))}, 5) == {"x", "y"}
    # One group only: withheld when small, and nothing else to add.
    assert withheld({"all": {1, 2}}, 5) == {"all"}
