"""Trend charts: weekly feedback volume, split by source or segment, laid out for inline SVG.

Everything the template needs (bar rectangles, axis ticks, labels, the table) is computed here,
so `templates/discovery/_trend_chart.html` only prints numbers: no JavaScript, no style
attributes (CSP), one query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import count

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from discovery.models import Feedback
from pmhub.workspaces.models import Workspace

SPLITS = ("source", "segment")

# The drawing's coordinate system; the SVG scales to its container through `viewBox`.
WIDTH = 640
HEIGHT = 220
PLOT_LEFT = 40
PLOT_RIGHT = WIDTH - 8
PLOT_TOP = 18
PLOT_BOTTOM = HEIGHT - 26
BAR_FILL = 0.68  # share of a week's slot the bar covers; the rest is the gap between bars

# Fixed colour slots (1-8), defined for both themes in static/css/charts.css as --chart-N.
# `COLOURS` are the light-theme values, written as the SVG `fill` so the chart keeps its
# colours even where the stylesheet is missing (a saved page, an email).
COLOURS = {
    1: "#3b5bdb",
    2: "#d9480f",
    3: "#2b8a3e",
    4: "#c2255c",
    5: "#7048e8",
    6: "#0c8599",
    7: "#868e96",
    8: "#a66a00",
}
SOURCE_SLOTS = {
    Feedback.Source.SUPPORT: 1,
    Feedback.Source.SALES: 2,
    Feedback.Source.SURVEY: 3,
    Feedback.Source.APP_REVIEW: 4,
    Feedback.Source.EMAIL: 5,
    Feedback.Source.INTERVIEW: 6,
    Feedback.Source.MANUAL: 7,
}
SEGMENT_ORDER = ("Enterprise", "Mid-market", "SMB")
SEGMENT_SLOTS = {"Enterprise": 1, "Mid-market": 6, "SMB": 3}
OTHER_SEGMENT_SLOTS = (5, 2, 4, 8)
NO_SEGMENT = "No segment"
NO_SEGMENT_SLOT = 7

_chart_ids = count(1)


@dataclass(frozen=True)
class Week:
    start: date
    label: str  # "3 Nov"
    long_label: str  # "week of 3 Nov 2025"
    x: float  # centre of the week's slot
    show_label: bool  # every label when they fit, else every other one
    total: int
    total_y: float  # where the total is written, above the bar


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    week: str


@dataclass(frozen=True)
class Series:
    key: str
    name: str
    slot: int
    colour: str
    counts: list[int]
    total: int
    bars: list[Bar]

    @property
    def css_class(self) -> str:
        return f"chart-c{self.slot}"


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class TableRow:
    week: Week
    counts: list[int]
    total: int


@dataclass(frozen=True)
class TrendChart:
    dom_id: str
    split_by: str
    weeks: list[Week]
    series: list[Series]
    ticks: list[Tick]
    max_value: int
    total: int
    description: str
    recent_change: str  # "+40% over the last 4 full weeks" or ""
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    @property
    def split_label(self) -> str:
        return "source" if self.split_by == "source" else "segment"

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def label_y(self) -> int:
        return self.plot_bottom + 16

    @property
    def table_rows(self) -> list[TableRow]:
        return [
            TableRow(week=week, counts=[s.counts[i] for s in self.series], total=week.total)
            for i, week in enumerate(self.weeks)
        ]


def _nice_ceiling(value: int) -> tuple[int, int]:
    """An axis maximum at or above `value` and its tick step (1, 2 or 5 times a power of ten)."""
    if value <= 4:
        return 4, 1
    raw_step = value / 4
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    return int(math.ceil(value / step) * step), int(step)


def _week_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def _series_keys(split_by: str, keys: set[str]) -> list[tuple[str, str, int]]:
    """(key, name, colour slot) for each series present, in a fixed order."""
    if split_by == "source":
        return [
            (value, label, SOURCE_SLOTS[value])
            for value, label in Feedback.Source.choices
            if value in keys
        ]
    named = [s for s in SEGMENT_ORDER if s in keys]
    others = sorted(k for k in keys if k and k not in SEGMENT_ORDER)
    result = [(s, s, SEGMENT_SLOTS[s]) for s in named]
    result += [
        (k, k, OTHER_SEGMENT_SLOTS[i % len(OTHER_SEGMENT_SLOTS)]) for i, k in enumerate(others)
    ]
    if "" in keys:
        result.append(("", NO_SEGMENT, NO_SEGMENT_SLOT))
    return result


def _recent_change(totals: list[int]) -> str:
    """The last 4 full weeks against the 4 before; this week is still filling up, so left out."""
    full = totals[:-1]
    if len(full) < 8:
        return ""
    recent, before = sum(full[-4:]), sum(full[-8:-4])
    if before == 0:
        return f"{recent} in the last 4 full weeks, none in the 4 before" if recent else ""
    change = round((recent - before) * 100 / before)
    if change == 0:
        return "steady over the last 4 full weeks"
    return f"{change:+d}% over the last 4 full weeks"


def split_from(value: str | None) -> str:
    """The split a page asked for (`?split=`), or "source" for anything else."""
    return value if value in SPLITS else SPLITS[0]


def feedback_trend(
    *,
    workspace: Workspace,
    feedback: QuerySet[Feedback],
    weeks: int = 12,
    split_by: str = "source",
    today: date | None = None,
    dom_id: str = "",
) -> TrendChart:
    """Weekly feedback counts over the last `weeks` weeks (this one included), split by source
    or company segment. `feedback` must already be scoped to `workspace`. One query.
    """
    if split_by not in SPLITS:
        raise ValueError(f"split_by must be one of {SPLITS}, not {split_by!r}")
    weeks = max(1, min(weeks, 104))
    today = today or timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    starts = [first + timedelta(weeks=i) for i in range(weeks)]
    start_at = datetime.combine(first, time.min, tzinfo=UTC)
    end_at = datetime.combine(starts[-1] + timedelta(weeks=1), time.min, tzinfo=UTC)
    field = "source" if split_by == "source" else "company__segment"

    # Weeks in UTC, whatever the server's time zone, so a week is the same for everyone.
    rows = (
        feedback.filter(workspace=workspace, received_at__gte=start_at, received_at__lt=end_at)
        .annotate(week=TruncWeek("received_at", tzinfo=UTC))
        .values("week", field)
        .annotate(n=Count("id"))
        .order_by()
    )
    index = {start: i for i, start in enumerate(starts)}
    counts: dict[str, list[int]] = {}
    for row in rows:
        week = row["week"].astimezone(UTC).date() if row["week"] else None
        if week not in index:
            continue
        key = row[field] or ""
        counts.setdefault(key, [0] * weeks)[index[week]] += row["n"]

    totals = [sum(c[i] for c in counts.values()) for i in range(weeks)]
    total = sum(totals)
    top, step = _nice_ceiling(max(totals, default=0))
    plot_height = PLOT_BOTTOM - PLOT_TOP
    slot = (PLOT_RIGHT - PLOT_LEFT) / weeks
    bar_width = round(slot * BAR_FILL, 2)
    label_every = 1 if slot >= 36 else math.ceil(36 / slot)

    def y_of(value: float) -> float:
        return round(PLOT_BOTTOM - value * plot_height / top, 2)

    week_rows = [
        Week(
            start=start,
            label=_week_label(start),
            long_label=f"week of {_week_label(start)} {start.year}",
            x=round(PLOT_LEFT + slot * (i + 0.5), 2),
            show_label=(weeks - 1 - i) % label_every == 0,
            total=totals[i],
            total_y=y_of(totals[i]) - 4,
        )
        for i, start in enumerate(starts)
    ]

    series: list[Series] = []
    stacked = [0] * weeks
    for key, name, colour_slot in _series_keys(split_by, set(counts)):
        values = counts[key]
        bars = []
        for i, value in enumerate(values):
            if value:
                y_top = y_of(stacked[i] + value)
                bars.append(
                    Bar(
                        x=round(week_rows[i].x - bar_width / 2, 2),
                        y=y_top,
                        width=bar_width,
                        height=round(y_of(stacked[i]) - y_top, 2),
                        count=value,
                        week=week_rows[i].long_label,
                    )
                )
            stacked[i] += value
        series.append(
            Series(
                key=key,
                name=name,
                slot=colour_slot,
                colour=COLOURS[colour_slot],
                counts=values,
                total=sum(values),
                bars=bars,
            )
        )

    ticks = [Tick(value=v, y=y_of(v)) for v in range(0, top + 1, step)]
    split_word = "source" if split_by == "source" else "customer segment"
    description = (
        f"Feedback per week by {split_word}, {week_rows[0].long_label} to "
        f"{week_rows[-1].long_label}: {total} item{'' if total == 1 else 's'}"
    )
    if total:
        busiest = max(range(weeks), key=lambda i: (totals[i], i))
        description += f"; busiest {week_rows[busiest].long_label} with {totals[busiest]}"
        description += "; " + ", ".join(f"{s.name} {s.total}" for s in series)
    return TrendChart(
        dom_id=dom_id or f"trend-{next(_chart_ids)}",
        split_by=split_by,
        weeks=week_rows,
        series=series,
        ticks=ticks,
        max_value=max(totals, default=0),
        total=total,
        description=description + ".",
        recent_change=_recent_change(totals),
    )
