"""Small groups are withheld from reports: no figure may stand for one or two people.

A report group (a desk, zone or floor over a period) is shown when it holds at least
``min_group`` people (for figures from bookings) or desks (for figures from the sensors,
which know desks, not people), or when everyone in it chose to be visible to colleagues.
People whose bookings were anonymised are nobody any more: a group of only those is shown.

Withholding one group is not enough when a total is shown too (the building's, or another
grouping's): the total minus the groups shown would give it away. So, once any group is
withheld, the smallest others are withheld with it until the withheld groups together hold
at least ``min_group`` (the statistical offices' "secondary suppression").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

Member = TypeVar("Member")


def withheld(
    members: Mapping[str, Collection[Member]],
    min_group: int,
    visible: Collection[Member] = (),
) -> set[str]:
    """The groups to withhold, given each group's members (people's or desks' ids)."""
    if min_group <= 1:
        return set()
    shown = set(visible)

    def small(who: Collection[Member]) -> bool:
        return 0 < len(who) < min_group and not set(who) <= shown

    out = {g for g, who in members.items() if small(who)}
    if not out:
        return out
    held: set[Member] = set().union(*(members[g] for g in out))
    rest = sorted(
        (g for g in members if g not in out and members[g]), key=lambda g: (len(members[g]), g)
    )
    for g in rest:
        if len(held) >= min_group:
            break
        out.add(g)
        held |= set(members[g])
    return out
