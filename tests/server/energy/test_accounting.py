"""Energy per hour from meter counters, on generated data whose answer is known."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from server.energy.accounting import (
    Bands,
    Limits,
    MeterSample,
    env_hours,
    meter_hours,
    state_hours,
)

H = 3_600_000
T0 = 1_796_140_800_000  # 2026-12-02 00:00 WITA (16:00 UTC the day before): an hour boundary
STEP = 30_000


def office(ts: int) -> float:
    """1 kW from 08:00 to 17:00 WITA, 200 W otherwise."""
    hour = (ts - T0) // H % 24
    return 1000.0 if 8 <= hour < 17 else 200.0


def meter(
    start: int,
    end: int,
    power: Callable[[int], float] = office,
    counter0: float = 123_456.0,
    every: int = STEP,
) -> list[MeterSample]:
    """Readings of a meter whose counter integrates ``power`` exactly, in whole Wh."""
    out, counter = [], counter0
    for ts in range(start, end + 1, every):
        out.append(MeterSample(ts, float(int(counter)), power(ts)))
        counter += power(ts) * every / H
    return out


def expected_wh(hour: int) -> float:
    return office(hour)


def test_hourly_energy_from_a_clean_counter() -> None:
    hours = meter_hours(meter(T0, T0 + 24 * H))
    for h in range(T0, T0 + 24 * H, H):
        assert hours[h].wh == pytest.approx(expected_wh(h), abs=1.0)
        assert hours[h].wh_est == 0
        assert hours[h].covered_s == 3600
        assert hours[h].resets == 0
    assert hours[T0 + 9 * H].p_max == 1000.0
    assert hours[T0 + 9 * H].p_sum / hours[T0 + 9 * H].p_n == 1000.0


def test_order_of_arrival_and_repeats_change_nothing() -> None:
    samples = meter(T0, T0 + 6 * H)
    shuffled = samples + samples[::7]
    random.Random(3).shuffle(shuffled)
    a, b = meter_hours(samples), meter_hours(shuffled)
    assert {h: v.wh for h, v in a.items()} == {h: v.wh for h, v in b.items()}


def test_a_counter_reset_to_zero_loses_nothing() -> None:
    before = meter(T0 + 8 * H, T0 + 9 * H + 20 * 60_000)
    after = meter(before[-1].ts_ms + STEP, T0 + 11 * H, counter0=0.0)
    hours = meter_hours(before + after)
    for h in (T0 + 8 * H, T0 + 9 * H, T0 + 10 * H):
        assert hours[h].wh == pytest.approx(1000.0, abs=1.5)
    assert hours[T0 + 9 * H].resets == 1
    assert hours[T0 + 9 * H].wh_est == pytest.approx(1000 * STEP / H, abs=0.01)


def test_a_replaced_meter_starting_at_another_count_is_not_a_spike() -> None:
    old = meter(T0 + 8 * H, T0 + 9 * H + 20 * 60_000)
    new = meter(old[-1].ts_ms + STEP, T0 + 11 * H, counter0=5_000_000.0)
    hours = meter_hours(old + new)
    assert hours[T0 + 9 * H].wh == pytest.approx(1000.0, abs=1.5)
    assert hours[T0 + 9 * H].resets == 1
    # And a replacement that starts lower but not at zero.
    lower = meter(old[-1].ts_ms + STEP, T0 + 11 * H, counter0=40_000.0)
    assert meter_hours(old + lower)[T0 + 9 * H].wh == pytest.approx(1000.0, abs=1.5)


def test_a_gap_is_spread_over_its_hours_and_a_long_one_is_left_out() -> None:
    day = meter(T0, T0 + 24 * H)
    # Away from 09:00 to 11:00 (shorter than max_gap): the counter kept counting.
    short = [s for s in day if not T0 + 9 * H < s.ts_ms < T0 + 11 * H]
    hours = meter_hours(short)
    for h in (T0 + 9 * H, T0 + 10 * H):
        assert hours[h].wh == pytest.approx(1000.0, abs=1.0)
        assert hours[h].covered_s == 3600
    # Away from 00:00 to 08:00, longer than max_gap: those hours are not attributed.
    long = [s for s in day if not T0 < s.ts_ms < T0 + 8 * H]
    hours = meter_hours(long, Limits(max_gap_ms=6 * H))
    assert all(hours.get(h) is None or hours[h].wh == 0 for h in range(T0, T0 + 8 * H, H))
    assert hours[T0 + 8 * H].wh == pytest.approx(1000.0, abs=1.0)


def test_a_gap_crossing_a_reset_is_estimated_from_power() -> None:
    before = meter(T0 + 8 * H, T0 + 9 * H)
    after = meter(T0 + 10 * H, T0 + 12 * H, counter0=0.0)
    hours = meter_hours(before + after)
    # Power was 1 kW at both ends of the hour-long gap.
    assert hours[T0 + 9 * H].wh == pytest.approx(1000.0, abs=1.0)
    assert hours[T0 + 9 * H].wh_est == pytest.approx(1000.0, abs=1.0)


def test_climate_time_over_co2_levels_and_out_of_band() -> None:
    bands = Bands()
    minute = 60_000
    points: list[tuple[int, float | None, float | None, float | None]] = []
    for m in range(60):
        co2 = 1200.0 if m < 30 else 700.0
        temp = 28.0 if m < 15 else 25.0
        points.append((T0 + 9 * H + m * minute, co2, temp, 55.0))
    hours = env_hours(points, bands=bands, hold_ms=15 * minute, end_ms=T0 + 10 * H)
    v = hours[T0 + 9 * H].values
    assert v["covered_s"] == 3600
    assert v["co2_800_s"] == 1800 and v["co2_1000_s"] == 1800
    assert "co2_1500_s" not in v
    assert v["temp_high_s"] == 900
    assert v["co2_max"] == 1200 and v["co2_n"] == 60
    assert v["co2_sum"] / v["co2_n"] == pytest.approx(950)


def test_presence_holds_until_the_next_reading_for_at_most_the_hold() -> None:
    minute = 60_000
    points = [(T0, 1.0), (T0 + 20 * minute, 0.0), (T0 + 40 * minute, 1.0)]
    hours = state_hours(points, hold_ms=10 * minute, end_ms=T0 + H)
    assert hours[T0] == {"covered_s": 1800.0, "on_s": 1200.0}


def test_rollup_rows_carry_only_the_documented_fields() -> None:
    from server.energy.rollup import ROLLUP_FIELDS

    assert set(meter_hours(meter(T0, T0 + H))[T0].fields()) == ROLLUP_FIELDS["energy"]
    points: list[tuple[int, float | None, float | None, float | None]] = [
        (T0 + m * 60_000, 900.0 + 400 * (m % 2), 20.0 + 10 * (m % 2), 30.0 + 40 * (m % 2))
        for m in range(60)
    ]
    env = env_hours(points, bands=Bands(co2=(800, 1000, 1500)), hold_ms=H, end_ms=T0 + H)
    assert set(env[T0].values) <= ROLLUP_FIELDS["env"]
