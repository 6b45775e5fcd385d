"""Fuse PIR and mmWave into one debounced occupancy.

Occupied on the first detection by either sensor; vacant only after nothing has been
detected for ``hold_ms`` (default 2 minutes), so a person sitting still and typing is
not reported gone when the PIR stops seeing motion.
"""

from ticks import ticks_diff

HOLD_MS = 120_000


class Presence:
    """Call ``update`` with each sensor sample; it returns True when occupancy changed."""

    def __init__(self, hold_ms=HOLD_MS):
        self.hold_ms = hold_ms
        self.occupied = False
        self.source = "pir"
        self.distance_cm = None
        self._last_seen = None

    def update(self, now_ms, pir=None, radar=None):
        """Take a PIR level (bool or None) and/or a radar Target (or None)."""
        by_pir = bool(pir)
        by_radar = radar is not None and radar.present
        if by_pir or by_radar:
            self._last_seen = now_ms
            self.source = "both" if by_pir and by_radar else ("pir" if by_pir else "mmwave")
            if by_radar:
                self.distance_cm = radar.distance_cm
            if not self.occupied:
                self.occupied = True
                return True
            return False
        if self.occupied and ticks_diff(now_ms, self._last_seen) >= self.hold_ms:
            self.occupied = False
            self.distance_cm = None
            return True
        return False
