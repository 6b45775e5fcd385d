"""The server-drawn bar charts: round axes, bars that add up, a lone bar that stays a bar."""

from __future__ import annotations

import pytest

from server.web.charts import HEIGHT, MAX_BAR, TOP, bars, nice_top

BOTTOM_Y = HEIGHT - 48  # the value axis' zero


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1), (0.7, 1), (1.2, 2), (2.4, 2.5), (3, 5), (5.01, 10), (17.1, 20), (351.6, 500)],
)
def test_the_axis_ends_on_a_round_number_at_or_above_the_data(value: float, top: float) -> None:
    assert nice_top(value) == top


def test_stacked_bars_add_up_and_ticks_are_round() -> None:
    chart = bars(
        "kWh", ["26/11", "27/11"], [("a", [10.0, 5.0]), ("b", [7.1, 0.0])], unit="kWh", stacked=True
    )
    assert [t for _, t in chart.ticks] == ["0", "5", "10", "15", "20"]
    first = [b for b in chart.bars if b.title.startswith("26/11")]
    # The two parts of a day's bar touch, and together reach 17.1 of the axis' 20.
    assert first[0].y == pytest.approx(first[1].y + first[1].height, abs=0.2)
    plot = BOTTOM_Y - TOP
    assert sum(b.height for b in first) == pytest.approx(plot * 17.1 / 20, abs=0.3)
    assert first[1].title == "26/11 · b: 7.1 kWh"
    assert chart.legend == ["a", "b"]


def test_side_by_side_bars_and_a_target_line() -> None:
    chart = bars("%", ["f1"], [("booked", [40.0]), ("attended", [25.0])], unit="%", target=70.0)
    booked, attended = chart.bars
    assert booked.x < attended.x and booked.height > attended.height
    assert booked.width <= MAX_BAR  # one category: bars keep a bar's width
    assert chart.target == pytest.approx(TOP + (BOTTOM_Y - TOP) * (1 - 70 / 100), abs=0.2)


def test_no_category_draws_no_bar() -> None:
    assert bars("empty", [], [("a", [])]).bars == []
