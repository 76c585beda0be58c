"""Server-side bar charts: geometry computed here, SVG drawn by templates/reports/_charts.html.

No JavaScript and no inline style (the CSP forbids both): colours come from CSS classes, sizes
from SVG attributes. Each bar carries a <title> (tooltip); every chart is also a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COLUMN_WIDTH = 640
COLUMN_HEIGHT = 220
LABEL_SPACE = 36  # below the bars, for the category labels
VALUE_SPACE = 16  # above the tallest bar, for its value
ROW_HEIGHT = 28
ROW_LABEL_WIDTH = 150


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    css: str = "bar"


@dataclass(frozen=True)
class ColumnChart:
    """Vertical bars, one per category (e.g. months)."""

    chart_id: str
    title: str
    width: int
    height: int
    baseline: float
    bars: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


def column_chart(chart_id: str, title: str, items: list[tuple[str, int]]) -> ColumnChart:
    """Bars scaled to the largest value (a chart of zeros stays flat)."""
    largest = max((value for _, value in items), default=0) or 1
    slot = COLUMN_WIDTH / max(len(items), 1)
    baseline = COLUMN_HEIGHT - LABEL_SPACE
    usable = baseline - VALUE_SPACE
    bars = []
    for i, (label, value) in enumerate(items):
        height = round(usable * value / largest, 1)
        x = round(i * slot + slot * 0.15, 1)
        bars.append(Bar(label, value, x, baseline - height, round(slot * 0.7, 1), height))
    return ColumnChart(chart_id, title, COLUMN_WIDTH, COLUMN_HEIGHT, baseline, bars)


@dataclass(frozen=True)
class StackedRow:
    label: str
    y: float
    total: int
    segments: list[Bar] = field(default_factory=list)


@dataclass(frozen=True)
class StackedChart:
    """Horizontal bars, one per row (e.g. assistance kind), split into segments (statuses)."""

    chart_id: str
    title: str
    width: int
    height: int
    label_width: int
    rows: list[StackedRow]
    legend: list[tuple[str, str]]  # (label, css class)


def stacked_chart(
    chart_id: str,
    title: str,
    rows: list[tuple[str, list[tuple[str, int, str]]]],
    legend: list[tuple[str, str]],
) -> StackedChart:
    """``rows``: (row label, [(segment label, value, css class), ...])."""
    largest = max((sum(v for _, v, _ in segments) for _, segments in rows), default=0) or 1
    usable = COLUMN_WIDTH - ROW_LABEL_WIDTH - 48  # room for the total after the bar
    out = []
    for i, (label, segments) in enumerate(rows):
        y = i * ROW_HEIGHT + 4
        x = float(ROW_LABEL_WIDTH)
        bars = []
        for segment_label, value, css in segments:
            if value <= 0:
                continue
            width = round(usable * value / largest, 1)
            bars.append(Bar(segment_label, value, x, y, width, ROW_HEIGHT - 8, css))
            x += width
        out.append(StackedRow(label, y, sum(v for _, v, _ in segments), bars))
    height = max(len(rows), 1) * ROW_HEIGHT + 8
    return StackedChart(chart_id, title, COLUMN_WIDTH, height, ROW_LABEL_WIDTH, out, legend)
