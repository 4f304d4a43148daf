"""Roadmap charts drawn on the server as inline SVG: a key result's history as a line against its
baseline and target.

As in discovery/charts.py, everything the template needs (coordinates, ticks, labels, the table)
is computed here, so `templates/roadmap/_key_result_chart.html` only prints numbers: no
JavaScript, no style attributes (CSP), no queries.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from roadmap.models import KeyResult, KeyResultValue

# The drawing's coordinate system; the SVG scales to its container through `viewBox`.
WIDTH = 640
HEIGHT = 220
PLOT_LEFT = 52
PLOT_RIGHT = WIDTH - 96  # room on the right for the "Target" and "Baseline" labels
PLOT_TOP = 22
PLOT_BOTTOM = HEIGHT - 28
CURRENCY_PREFIXES = ("$", "€", "£", "¥")

_chart_ids = count(1)


def format_number(value: float, *, compact: bool = True) -> str:
    """1234567 -> "1.23M" (compact) or "1,234,567"; 0.5 -> "0.5"; no trailing zeros."""
    size = abs(value)
    if compact and size >= 10_000:
        for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if size >= threshold:
                text = f"{value / threshold:.3g}"
                return f"{text}{suffix}"
    text = f"{value:,.2f}" if size < 1_000_000_000_000 else f"{value:.4g}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_value(value: float | None, unit: str = "", *, compact: bool = True) -> str:
    """A value with its unit: "42%", "$1.2M", "350 ms", "—" for none."""
    if value is None:
        return "—"
    number = format_number(value, compact=compact)
    if not unit:
        return number
    if unit == "%":
        return f"{number}%"
    if unit in CURRENCY_PREFIXES:
        return f"-{unit}{number[1:]}" if number.startswith("-") else f"{unit}{number}"
    return f"{number} {unit}"


def _nice_step(span: float, parts: int = 4) -> float:
    raw = span / parts
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # "1 Nov 2026: 250k ($250,000)"
    is_latest: bool


@dataclass(frozen=True)
class Tick:
    label: str
    position: float


@dataclass(frozen=True)
class TableRow:
    value_id: int
    measured_at: datetime.datetime
    value: str
    exact: str
    note: str
    source: str


@dataclass(frozen=True)
class KeyResultChart:
    dom_id: str
    title: str
    description: str
    points: list[Point]
    path: str
    baseline_y: float
    target_y: float
    baseline_label: str
    target_label: str
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    latest_label: str
    latest_x: float
    latest_y: float
    latest_anchor: str
    rows: list[TableRow]
    # The straight line from the baseline at the start to the target at the end (both dates
    # known), and today on the time axis: together they say whether the line is on pace.
    pace: tuple[float, float, float, float] | None = None
    pace_note: str = ""
    today_x: float | None = None
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM

    @property
    def is_empty(self) -> bool:
        return not self.points

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def x_label_y(self) -> int:
        return self.plot_bottom + 18

    @property
    def side_label_x(self) -> int:
        return self.plot_right + 8


def _day(moment: datetime.datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def key_result_chart(
    *,
    key_result: KeyResult,
    values: Sequence[KeyResultValue],
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    dom_id: str = "",
) -> KeyResultChart:
    """The history of `key_result` (`values` oldest first) over the objective's dates when known:
    a line with a dot per measurement, the latest labelled, dashed baseline and target lines."""
    unit = key_result.unit
    baseline, target = key_result.baseline, key_result.target
    numbers = [v.value for v in values]
    low, high = min(baseline, target, *numbers), max(baseline, target, *numbers)
    step = _nice_step(high - low) if high > low else 1.0
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    if high == low:
        high = low + step

    moments = [v.measured_at for v in values]
    if start:
        moments.append(datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC))
    if end:
        moments.append(datetime.datetime.combine(end, datetime.time.max, tzinfo=datetime.UTC))
    first = min(moments) if moments else None
    last = max(moments) if moments else None
    if first is not None and last is not None and last - first < datetime.timedelta(days=2):
        first, last = first - datetime.timedelta(days=1), last + datetime.timedelta(days=1)

    def y_of(value: float) -> float:
        return round(PLOT_BOTTOM - (value - low) * (PLOT_BOTTOM - PLOT_TOP) / (high - low), 2)

    def x_of(moment: datetime.datetime) -> float:
        if first is None or last is None:
            return PLOT_LEFT
        share = (moment - first).total_seconds() / (last - first).total_seconds()
        return round(PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT), 2)

    points = [
        Point(
            x=x_of(v.measured_at),
            y=y_of(v.value),
            label=f"{_day(v.measured_at)}: {format_value(v.value, unit, compact=False)}",
            is_latest=i == len(values) - 1,
        )
        for i, v in enumerate(values)
    ]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))
    y_ticks = []
    tick = low
    while tick <= high + step / 2:
        y_ticks.append(Tick(label=format_value(tick, unit), position=y_of(tick)))
        tick += step
    x_ticks = []
    if first is not None and last is not None:
        parts = 3
        for i in range(parts + 1):
            moment = first + (last - first) * i / parts
            x_ticks.append(Tick(label=f"{moment.day} {moment:%b}", position=x_of(moment)))

    pace = None
    pace_note = ""
    if start and end and start < end:
        begin = datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC)
        finish = datetime.datetime.combine(end, datetime.time.max, tzinfo=datetime.UTC)
        pace = (x_of(begin), y_of(baseline), x_of(finish), y_of(target))
        if values:
            moment = min(max(values[-1].measured_at, begin), finish)
            expected = baseline + (target - baseline) * (moment - begin) / (finish - begin)
            ahead = (values[-1].value - expected) * (1 if target > baseline else -1)
            where = "ahead of" if ahead > 0 else "behind" if ahead < 0 else "on"
            pace_note = (
                f"{where} pace: {format_value(expected, unit)} expected by "
                f"{_day(values[-1].measured_at)}"
            )
    now = datetime.datetime.now(tz=datetime.UTC)
    today_x = x_of(now) if first is not None and last is not None and first <= now <= last else None

    latest = points[-1] if points else None
    latest_value = values[-1] if values else None
    progress = key_result.progress
    if latest_value is not None:
        description = (
            f"{key_result.metric}: {format_value(latest_value.value, unit, compact=False)} on "
            f"{_day(latest_value.measured_at)}, {round(progress * 100)}% of the way from "
            f"{format_value(baseline, unit, compact=False)} to "
            f"{format_value(target, unit, compact=False)}; {len(values)} measurement"
            f"{'' if len(values) == 1 else 's'} shown"
            f"{'; ' + pace_note if pace_note else ''}."
        )
    else:
        description = f"{key_result.metric}: no measurement yet."
    # The latest value's label sits above its dot, kept inside the plot at either edge.
    latest_anchor = "middle"
    if latest is not None and latest.x > PLOT_RIGHT - 30:
        latest_anchor = "end"
    elif latest is not None and latest.x < PLOT_LEFT + 30:
        latest_anchor = "start"
    return KeyResultChart(
        dom_id=dom_id or f"kr-chart-{next(_chart_ids)}",
        title=f"{key_result.metric} over time",
        description=description,
        points=points,
        path=path,
        baseline_y=y_of(baseline),
        target_y=y_of(target),
        baseline_label=f"Baseline {format_value(baseline, unit)}",
        target_label=f"Target {format_value(target, unit)}",
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        pace=pace,
        pace_note=pace_note,
        today_x=today_x,
        latest_label=format_value(latest_value.value, unit) if latest_value else "",
        latest_x=latest.x if latest else 0,
        latest_y=max(PLOT_TOP - 6, latest.y - 10) if latest else 0,
        latest_anchor=latest_anchor,
        rows=[
            TableRow(
                value_id=v.id,
                measured_at=v.measured_at,
                value=format_value(v.value, unit),
                exact=format_value(v.value, unit, compact=False),
                note=v.note,
                source=v.get_source_display(),
            )
            for v in reversed(values)
        ],
    )
