"""People in a room from two beams (or PIRs) across its door, a few cm apart.

Outer beam then inner beam is someone coming in; inner then outer is someone leaving.
A crossing must complete within ``window_ms``; a beam broken alone (someone looking in)
counts nothing. The count never goes below zero.
"""

from ticks import ticks_diff

WINDOW_MS = 1500


class DoorCounter:
    """Call ``update`` with both beam levels (1 = broken); returns True when count changed."""

    def __init__(self, window_ms=WINDOW_MS):
        self.window_ms = window_ms
        self.count = 0
        self._first = None  # "outer" or "inner": which beam broke first
        self._since = 0
        self._prev = (0, 0)

    def update(self, now_ms, outer, inner):
        """Take the two beams' levels now."""
        rose_outer = outer and not self._prev[0]
        rose_inner = inner and not self._prev[1]
        self._prev = (outer, inner)
        if self._first is not None and ticks_diff(now_ms, self._since) > self.window_ms:
            self._first = None  # half a crossing: someone turned back
        if self._first is None:
            if rose_outer and not rose_inner:
                self._first, self._since = "outer", now_ms
            elif rose_inner and not rose_outer:
                self._first, self._since = "inner", now_ms
            return False
        if self._first == "outer" and rose_inner:
            self._first = None
            self.count += 1
            return True
        if self._first == "inner" and rose_outer:
            self._first = None
            if self.count:
                self.count -= 1
                return True
        return False
