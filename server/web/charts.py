"""Charts drawn by the server as SVG: bars laid out here, drawn by ``templates/charts.html``.

No script and nothing from the internet: a chart is part of the page, prints, and reads
the same with scripts off. Every chart on a page sits beside a table of its numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from babel.numbers import format_decimal

WIDTH: Final = 720
HEIGHT: Final = 260
LEFT: Final = 56  # room for the value axis' labels
BOTTOM: Final = 48  # room for the category labels
TOP: Final = 12
MAX_BAR: Final = 90  # a lone category's bar stays a bar, not a wall


@dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle: where it is, which series it belongs to, and what it says on hover."""

    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(slots=True)
class BarChart:
    """A bar chart's geometry: bars, value ticks, category labels and legend."""

    title: str
    unit: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    target: float | None = None  # a horizontal line (a target), in plot coordinates


def nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def number(value: float, lang: str = "en") -> str:
    """A value as an axis label, as the locale writes it: no needless decimals."""
    return format_decimal(round(value, 2), format="#,##0.##", locale=lang)


def bars(
    title: str,
    categories: list[str],
    series: list[tuple[str, list[float]]],
    *,
    unit: str = "",
    stacked: bool = False,
    target: float | None = None,
    lang: str = "en",
) -> BarChart:
    """Bars per category, side by side (or ``stacked``), one colour per series."""
    chart = BarChart(title=title, unit=unit, legend=[name for name, _ in series])
    if not categories:
        return chart
    if stacked:
        peak = max(sum(values[i] for _, values in series) for i in range(len(categories)))
    else:
        peak = max((v for _, values in series for v in values), default=0.0)
    top = nice_top(max(peak, target or 0.0))
    plot_w, plot_h = chart.width - LEFT - 8, chart.height - TOP - BOTTOM
    slot = plot_w / len(categories)
    inner = min(slot * 0.8, MAX_BAR * (1 if stacked else len(series)))
    each = inner if stacked else inner / max(1, len(series))

    def y_of(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    for i, category in enumerate(categories):
        x0 = LEFT + slot * i + (slot - inner) / 2
        base = 0.0
        for s, (name, values) in enumerate(series):
            v = values[i]
            lo, hi = (base, base + v) if stacked else (0.0, v)
            x = x0 if stacked else x0 + each * s
            said = f"{category} · {name}: {number(v, lang)} {unit}"
            chart.bars.append(
                Bar(
                    round(x, 1),
                    round(y_of(hi), 1),
                    round(max(each - 1, 1), 1),
                    round(y_of(lo) - y_of(hi), 1),
                    s,
                    said,
                )
            )
            base = hi if stacked else base
        chart.labels.append((round(x0 + inner / 2, 1), category))
    # Round steps: 0.25 of 1 and 0.5 of 2, but 0.5 of 2.5 and 1 of 5.
    parts = 5 if str(top / 10 ** math.floor(math.log10(top)))[:3] in ("2.5", "5.0") else 4
    chart.ticks = [
        (round(y_of(top * k / parts), 1), number(top * k / parts, lang)) for k in range(parts + 1)
    ]
    chart.target = round(y_of(target), 1) if target is not None else None
    return chart
