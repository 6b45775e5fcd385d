"""Energy per hour from cumulative meter counters, and time spent in a state per hour.

Both are pure functions of the readings, so the answers can be checked against data built
with a known answer (tests/server/energy/test_accounting.py).

Energy. A meter reports ``energy_wh``, a counter that only grows, and ``power_w`` now.
Between two consecutive readings a, b (sorted by time, whatever order they arrived in):

* ``d = b.energy_wh - a.energy_wh``. It is *measured* when ``0 <= d <= bound``, where
  ``bound = P * dt * headroom + resolution``: ``P`` is the highest power seen on that meter in
  the readings at hand (or at a or b), ``dt`` the interval in hours. More than that is not
  physically possible for this circuit: a replaced meter that starts at another count.
* A negative ``d`` is a counter reset (a reset command, a new meter starting at zero) or a
  replacement; a ``d`` above the bound is a jump. Either way the interval's energy is
  *estimated* from power, ``(a.power_w + b.power_w) / 2 * dt``; after a reset to zero, the
  new count ``b.energy_wh`` (what the meter counted since) is used when it is larger.
* An interval longer than ``max_gap`` (the meter or its gateway was away) is not attributed:
  what happened inside it is unknown. The hours it spans show less coverage.
* The interval's energy is spread over the hours it spans in proportion to time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final

from server.readings.store import HOUR_MS

MS_PER_H: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One reading of one meter."""

    ts_ms: int
    energy_wh: float
    power_w: float


@dataclass(frozen=True, slots=True)
class Limits:
    """How strictly a counter's steps are believed."""

    max_gap_ms: int = 6 * MS_PER_H
    resolution_wh: float = 2.0
    headroom: float = 1.5


@dataclass(slots=True)
class MeterHour:
    """One hour of one meter."""

    wh: float = 0.0
    wh_est: float = 0.0
    covered_s: float = 0.0
    resets: int = 0
    p_sum: float = 0.0
    p_n: int = 0
    p_max: float = 0.0

    def fields(self) -> dict[str, float]:
        """As rollup fields."""
        return {
            "wh": round(self.wh, 4),
            "wh_est": round(self.wh_est, 4),
            "covered_s": round(self.covered_s, 3),
            "resets": float(self.resets),
            "p_sum": round(self.p_sum, 3),
            "p_n": float(self.p_n),
            "p_max": self.p_max,
        }


def hour_of(ts_ms: int) -> int:
    """Start of the (UTC-aligned) hour holding ``ts_ms``: a local hour too in WIB, WITA, WIT."""
    return ts_ms - ts_ms % HOUR_MS


def spans(t0: int, t1: int) -> Iterator[tuple[int, int]]:
    """(hour, ms of [t0, t1) inside that hour) for every hour [t0, t1) touches."""
    t = t0
    while t < t1:
        h = hour_of(t)
        nxt = min(t1, h + HOUR_MS)
        yield h, nxt - t
        t = nxt


def clean(samples: Iterable[MeterSample]) -> list[MeterSample]:
    """Sorted by time; of several readings at one instant, the last one sorted is kept."""
    by_ts = {s.ts_ms: s for s in sorted(samples, key=lambda s: (s.ts_ms, s.energy_wh))}
    return [by_ts[t] for t in sorted(by_ts)]


def meter_hours(samples: Iterable[MeterSample], limits: Limits = Limits()) -> dict[int, MeterHour]:
    """Energy (measured and estimated), coverage and power of one meter per hour."""
    pts = clean(samples)
    hours: dict[int, MeterHour] = defaultdict(MeterHour)
    for s in pts:
        h = hours[hour_of(s.ts_ms)]
        h.p_sum += s.power_w
        h.p_n += 1
        h.p_max = max(h.p_max, s.power_w)
    p_seen = max((s.power_w for s in pts), default=0.0)
    for a, b in pairwise(pts):
        dt = b.ts_ms - a.ts_ms
        if dt > limits.max_gap_ms:
            continue
        dt_h = dt / MS_PER_H
        bound = max(p_seen, a.power_w, b.power_w) * dt_h * limits.headroom + limits.resolution_wh
        d = b.energy_wh - a.energy_wh
        estimated = not 0 <= d <= bound
        if estimated:
            d = (a.power_w + b.power_w) / 2 * dt_h
            if b.energy_wh < a.energy_wh and b.energy_wh <= bound:
                d = max(d, b.energy_wh)
            hours[hour_of(b.ts_ms)].resets += 1
        for hour, part in spans(a.ts_ms, b.ts_ms):
            h = hours[hour]
            share = d * part / dt
            h.wh += share
            h.covered_s += part / 1000
            if estimated:
                h.wh_est += share
    return dict(hours)


@dataclass(frozen=True, slots=True)
class Step:
    """A value that held for ``ms`` milliseconds within ``hour``."""

    hour: int
    value: float
    ms: int


def steps(points: Sequence[tuple[int, float]], hold_ms: int, end_ms: int) -> Iterator[Step]:
    """Each reading's value holds until the next reading, for at most ``hold_ms``.

    ``points`` are (ts_ms, value) sorted by time; nothing is held past ``end_ms``.
    """
    for i, (ts, value) in enumerate(points):
        until = min(ts + hold_ms, end_ms)
        if i + 1 < len(points):
            until = min(until, points[i + 1][0])
        for hour, part in spans(ts, until):
            yield Step(hour, value, part)


@dataclass(frozen=True, slots=True)
class Bands:
    """Comfort limits: CO2 levels (ppm) and the temperature and humidity ranges."""

    co2: tuple[int, ...] = (800, 1000, 1500)
    temp_c: tuple[float, float] = (23.0, 27.0)
    rh_pct: tuple[float, float] = (40.0, 60.0)


@dataclass(slots=True)
class EnvHour:
    """One hour of one room's climate: sample statistics and seconds out of band."""

    values: dict[str, float] = field(default_factory=dict)

    def add_sample(self, co2: float | None, temp: float | None, rh: float | None) -> None:
        """Count one reading into means, minima and maxima."""
        v = self.values
        for name, x in (("co2", co2), ("temp", temp), ("rh", rh)):
            if x is None:
                continue
            v[f"{name}_n"] = v.get(f"{name}_n", 0) + 1
            v[f"{name}_sum"] = v.get(f"{name}_sum", 0.0) + x
            v[f"{name}_max"] = max(v.get(f"{name}_max", x), x)
            v[f"{name}_min"] = min(v.get(f"{name}_min", x), x)

    def add_seconds(self, name: str, seconds: float) -> None:
        """Add time to a counter (``covered_s``, ``co2_1000_s``, ...)."""
        self.values[name] = self.values.get(name, 0.0) + seconds


def env_hours(
    points: Sequence[tuple[int, float | None, float | None, float | None]],
    *,
    bands: Bands,
    hold_ms: int,
    end_ms: int,
) -> dict[int, EnvHour]:
    """A room's climate per hour from (ts, co2, temp, rh) readings sorted by time."""
    hours: dict[int, EnvHour] = defaultdict(EnvHour)
    for ts, co2, temp, rh in points:
        hours[hour_of(ts)].add_sample(co2, temp, rh)
    for i, name in enumerate(("co2", "temp", "rh"), start=1):
        series = [(p[0], float(p[i])) for p in points if p[i] is not None]  # type: ignore[arg-type]
        for step in steps(series, hold_ms, end_ms):
            h, s = hours[step.hour], step.ms / 1000
            if name == "co2":
                h.add_seconds("covered_s", s)
                for level in bands.co2:
                    if step.value >= level:
                        h.add_seconds(f"co2_{level}_s", s)
            else:
                low, high = bands.temp_c if name == "temp" else bands.rh_pct
                if step.value < low:
                    h.add_seconds(f"{name}_low_s", s)
                elif step.value > high:
                    h.add_seconds(f"{name}_high_s", s)
    return dict(hours)


def state_hours(
    points: Sequence[tuple[int, float]], *, hold_ms: int, end_ms: int
) -> dict[int, dict[str, float]]:
    """Seconds covered and seconds the state was on (value > 0) per hour."""
    hours: dict[int, dict[str, float]] = defaultdict(lambda: {"covered_s": 0.0, "on_s": 0.0})
    for step in steps(points, hold_ms, end_ms):
        h = hours[step.hour]
        h["covered_s"] += step.ms / 1000
        if step.value > 0:
            h["on_s"] += step.ms / 1000
    return dict(hours)
