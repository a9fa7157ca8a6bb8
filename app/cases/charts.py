"""Horizontal bar charts laid out on the server and drawn as inline SVG by the template: no script to
load, every bar carries its figure as text (colour is never the only cue), and the page's CSS colours them.

Horizontal, because the categories are office names, which read badly on a slanted axis.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 520  # about a half-page column, so that text is drawn near its CSS size
LABEL_WIDTH = 130  # office names on the left, right-aligned against the axis
FIGURE_WIDTH = 50  # room right of the longest bar for its figure
BAR_HEIGHT = 14
BAR_GAP = 2
CATEGORY_GAP = 10
AXIS_HEIGHT = 22
PLOT_WIDTH = WIDTH - LABEL_WIDTH - FIGURE_WIDTH


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str


@dataclass(frozen=True)
class Bar:
    series: Series
    y: float
    width: float
    figure: str  # the value as shown, also written next to the bar
    tooltip: str


@dataclass(frozen=True)
class Category:
    label: str
    label_y: float
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class BarChart:
    key: str  # unique on the page
    title: str
    series: list[Series]
    categories: list[Category]
    ticks: list[Tick]
    height: float
    width: int = WIDTH
    plot_x: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT
    axis_y: float = 0


def bar_chart(key: str, title: str, series: Sequence[Series], rows: Sequence[tuple[str, Sequence[float | None]]],
              fmt: Callable[[float | None], str], scale: Sequence[float] | None = None) -> BarChart:
    """`rows` are (category label, one value per series); None draws no bar and shows fmt(None).
    `scale` gives the axis ticks, the last being the full width; shares pass 0 to 1, counts let it be worked out."""
    ticks = list(scale) if scale is not None else count_ticks(max((v or 0 for _, values in rows for v in values),
                                                                  default=0))
    top = ticks[-1]
    group = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    categories = []
    for i, (label, values) in enumerate(rows):
        y0 = CATEGORY_GAP / 2 + i * (group + CATEGORY_GAP)
        bars = [Bar(series=s, y=y0 + k * (BAR_HEIGHT + BAR_GAP),
                    width=round(PLOT_WIDTH * (value or 0) / top, 1), figure=fmt(value),
                    tooltip=f"{label} · {s.name}: {fmt(value)}")
                for k, (s, value) in enumerate(zip(series, values, strict=True))]
        categories.append(Category(label=label, label_y=y0 + group / 2, bars=bars))
    axis_y = len(rows) * (group + CATEGORY_GAP)
    return BarChart(key=key, title=title, series=list(series), categories=categories,
                    ticks=[Tick(x=round(LABEL_WIDTH + PLOT_WIDTH * t / top, 1), text=fmt(t)) for t in ticks],
                    height=axis_y + AXIS_HEIGHT, axis_y=axis_y)


def count_ticks(largest: float) -> list[float]:
    """About four whole-number steps from 0 to at least `largest` (at least 1, so an empty chart has an axis)."""
    step = max(1, math.ceil(largest / 4))
    return [step * k for k in range(max(1, math.ceil(largest / step)) + 1)]
