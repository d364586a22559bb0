"""Charts drawn on the server: the geometry of SVG bar charts.

No script and no outside library runs in the browser: the template
`staff/report_chart.html` turns these shapes into inline SVG with
presentation attributes only (the CSP forbids inline styles), and every
chart is drawn beside a table holding the same numbers, which is what
screen readers and keyboard users read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH = 520
LABEL_WIDTH = 190
VALUE_WIDTH = 60
BAR_HEIGHT = 18
GAP = 6
MAX_LABEL = 24  # characters of a label drawn in the chart; the table has all


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    text_x: float
    text_y: float


@dataclass
class Chart:
    """One chart: its id (for aria-labelledby), title, size and bars."""

    id: str
    title: str
    width: int
    height: int
    kind: str  # "bars" (horizontal) | "columns" (vertical, e.g. months)
    bars: list[Bar] = field(default_factory=list)
    axis_y: float = 0.0
    max_value: int = 0


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def bar_chart(chart_id: str, title: str, rows: list[tuple[str, int]]) -> Chart:
    """Horizontal bars, one per row, scaled to the largest value."""
    top = max((n for _, n in rows), default=0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    chart = Chart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=max(1, len(rows)) * (BAR_HEIGHT + GAP) + GAP,
        kind="bars",
        max_value=top,
    )
    for i, (label, n) in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        width = 0.0 if top == 0 else span * n / top
        chart.bars.append(
            Bar(
                label=_short(label),
                value=n,
                x=LABEL_WIDTH,
                y=y,
                width=round(width, 1),
                height=BAR_HEIGHT,
                text_x=round(LABEL_WIDTH + width + 4, 1),
                text_y=y + BAR_HEIGHT - 5,
            )
        )
    return chart


def column_chart(chart_id: str, title: str, rows: list[tuple[str, int]]) -> Chart:
    """Vertical columns (e.g. cases per month), labels under every few columns."""
    height = 220
    base = height - 34
    top = max((n for _, n in rows), default=0)
    count = max(1, len(rows))
    step = (WIDTH - 20) / count
    width = max(2.0, step * 0.75)
    chart = Chart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=height,
        kind="columns",
        axis_y=base,
        max_value=top,
    )
    every = max(1, math.ceil(count / 6))  # room for about six month labels
    for i, (label, n) in enumerate(rows):
        h = 0.0 if top == 0 else (base - 16) * n / top
        x = 10 + i * step
        chart.bars.append(
            Bar(
                label=label if i % every == 0 else "",
                value=n,
                x=round(x, 1),
                y=round(base - h, 1),
                width=round(width, 1),
                height=round(h, 1),
                text_x=round(x + width / 2, 1),
                text_y=base + 16,
            )
        )
    return chart
