"""Which boot of a node a reading belongs to, for counting what went missing.

A node counts its boots in flash and draws a random boot id at every start. The counter
orders boots, but it starts again at 1 after a factory reset, an erase or a replaced board;
the boot id tells such a start from an old boot. A reading is of:

* ``"current"``: the boot being counted;
* ``"new"``: a later boot (an id never seen: the node started over, whatever its counter;
  or a higher counter);
* ``"earlier"``: a boot counted before (a straggler, known by its id or, without ids, by
  a lower counter), which counts for nothing.

Nodes without boot ids (firmware 1.0) send 0 and are ordered by the counter alone.
"""

from __future__ import annotations

from typing import Literal

# How many earlier boot ids are remembered to recognise stragglers.
PAST_BOOTS = 8

Boot = Literal["current", "new", "earlier"]


def which_boot(boot: int, bid: int, current: tuple[int, int | None], past: list[int]) -> Boot:
    """Place a reading's (boot, bid) against the boot being counted.

    ``current`` is (counter, id) of that boot; an id of None (state from before ids) takes
    the first id seen with the same counter.
    """
    counter, current_bid = current
    if boot == counter and (current_bid is None or bid == current_bid):
        return "current"
    if bid and bid in past:
        return "earlier"
    if boot > counter or bid != current_bid:
        return "new"
    return "earlier"


def remember(past: list[int], bid: int | None) -> list[int]:
    """The earlier boot ids after leaving the boot ``bid``, newest last."""
    if not bid or bid in past:
        return past
    return [*past, bid][-PAST_BOOTS:]


def encode(past: list[int]) -> str:
    """Earlier boot ids as stored (a comma-separated text column)."""
    return ",".join(map(str, past))


def decode(text: str | None) -> list[int]:
    """Earlier boot ids from their stored text."""
    return [int(x) for x in (text or "").split(",") if x]
