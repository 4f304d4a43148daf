"""Reads of the backlog's board and 2×2 matrix, and the matrix's layout as inline SVG.

The board: the filtered items in one column per status, each column capped, in one statement. The
matrix: two numbers per item (a score, a scoring input, a workspace field or a demand figure) in a
constant number of queries, laid out here so the template only prints coordinates (no JavaScript,
no style attributes: CSP).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    CharField,
    Count,
    F,
    FilteredRelation,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from backlog.formula import FRAMEWORKS
from backlog.models import Item, ItemScore, ScoreField, ScoringFormula
from backlog.selectors import ItemFilters, item_list
from pmhub.workspaces.models import Workspace

# Cards per column: enough to work a column by hand; the rest is one "show all" link away.
BOARD_COLUMN_LIMIT = 50
# Points per matrix: past a few hundred dots a scatter is a smear, and the page stays light.
MATRIX_POINT_LIMIT = 500
# Items without a value listed by name under the chart; the counts say how many in all.
MISSING_LIST_LIMIT = 30

CARD_FIELDS = (
    "id",
    "title",
    "kind",
    "status",
    "declined_reason",
    "rank",
    "version",
    "customer_count",
    "company_count",
    "arr",
    "critical_count",
    "area__name",
    "owner_id",
    "owner__name",
    "owner__email",
)


def _score_of(workspace: Workspace, formula_id: int) -> Subquery:
    return Subquery(
        ItemScore.objects.for_workspace(workspace)
        .filter(item_id=OuterRef("id"), formula_id=formula_id)
        .values("value")[:1]
    )


# --- the board -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoardColumn:
    status: str
    label: str
    count: int
    cards: list[dict[str, Any]]

    @property
    def is_capped(self) -> bool:
        return self.count > len(self.cards)

    @property
    def is_collapsed(self) -> bool:
        # Declined items are the record of a "no"; the board is for what is still moving.
        return self.status == Item.Status.DECLINED


# The board's one statement, from two ORM-compiled parts: {counts} (status, column_count) and
# {cards}, whose status is the current column's ("board_column"."status", _COLUMN_STATUS).
_BOARD_SQL = (
    'SELECT "board_column"."column_count", "board_card".* FROM ({counts}) "board_column" '
    'CROSS JOIN LATERAL ({cards}) "board_card" '
    'ORDER BY "board_column"."status", "board_card"."rank", "board_card"."id"'
)
_COLUMN_STATUS = RawSQL('"board_column"."status"', (), output_field=CharField())  # noqa: S611


class _RowCount(Subquery):
    """How many rows a queryset has, as a scalar subquery that is 0 (not NULL) for none.

    Not Coalesce(Subquery(... Count)): Django would put the Coalesce in the GROUP BY of the
    outer query and run the subquery once per row grouped instead of once per group."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _rows)"
    output_field = IntegerField()


def _column_counts(*, workspace: Workspace, filters: ItemFilters) -> QuerySet[Item, dict[str, Any]]:
    """(status, column_count) of the filtered live items, one row per status that has any."""
    if filters.active:
        return (
            item_list(workspace=workspace, filters=filters)
            .order_by()
            .values("status")
            .annotate(column_count=Count("*"))
        )
    # Unfiltered, the count is every item of the status less the merged ones: the first is an
    # index-only scan of item_status_rank, the second a few rows by the merged_into index,
    # where counting only live rows would read the whole table (merged_into is not in the
    # index). Must match item_list's own conditions, which are merged_into IS NULL alone.
    merged = Item.objects.for_workspace(workspace).filter(
        status=OuterRef("status"), merged_into__isnull=False
    )
    return (
        Item.objects.for_workspace(workspace)
        .order_by()
        .values("status")
        .annotate(column_count=Count("*") - _RowCount(merged.values("id")))
    )


def board_columns(
    *,
    workspace: Workspace,
    filters: ItemFilters | None = None,
    formula: ScoringFormula | None = None,
    limit: int = BOARD_COLUMN_LIMIT,
) -> list[BoardColumn]:
    """One column per status in workflow order: its first `limit` live items in the manual
    order (with the score by `formula`, if any) and how many it holds in all.

    One statement whatever the sizes: the counts grouped by status, and for each status a
    LATERAL subquery of its first `limit` cards, which walks item_status_rank from the top of
    that status's range and stops. (A row_number() window numbered every item of the workspace
    to keep 300 of them: ~1.2 s at 100,000 items.) Both parts are compiled by the ORM from
    item_list, so the filters are the table's; only the join between them is written here.
    """
    filters = filters or ItemFilters()
    fields: tuple[str, ...] = CARD_FIELDS
    cards = item_list(workspace=workspace, filters=filters).filter(status=_COLUMN_STATUS)
    if formula is not None:
        cards = cards.annotate(score=_score_of(workspace, formula.id))
        fields = (*fields, "score")
    # values_list keeps `fields` in order (Django 5.2 selects them in the order given), so
    # the rows' columns are known by position.
    cards = cards.order_by("rank", "id").values_list(*fields)[:limit]
    counts = _column_counts(workspace=workspace, filters=filters)
    try:
        counts_sql, counts_params = counts.query.sql_with_params()
        cards_sql, cards_params = cards.query.sql_with_params()
    except EmptyResultSet:
        # The ORM knows a part matches nothing (no cards asked for, an empty `in`): no columns.
        rows = []
    else:
        # Only the compiled SQL is spliced in; every value stays a parameter.
        statement = _BOARD_SQL.format(counts=counts_sql, cards=cards_sql)
        with connections[Item.objects.db].cursor() as cursor:
            cursor.execute(statement, (*counts_params, *cards_params))
            rows = cursor.fetchall()
    cards_by_status: dict[str, list[dict[str, Any]]] = {status: [] for status in Item.Status.values}
    counts_by_status: dict[str, int] = dict.fromkeys(Item.Status.values, 0)
    for column_count, *values in rows:
        row = dict(zip(fields, values, strict=True))
        row.setdefault("score", None)
        row["owner_name"] = row["owner__name"] or (row["owner__email"] or "").split("@")[0]
        row["kind_label"] = Item.Kind(row["kind"]).label
        cards_by_status[row["status"]].append(row)
        counts_by_status[row["status"]] = column_count
    return [
        BoardColumn(
            status=status.value,
            label=status.label,
            count=counts_by_status[status],
            cards=cards_by_status[status],
        )
        for status in Item.Status
    ]


def item_version_for_update(*, workspace: Workspace, item_id: int) -> int | None:
    """The live item's version, its row locked until the caller's transaction ends; None when
    it is gone. To refuse a change begun on an older version."""
    return (
        Item.objects.for_workspace(workspace)
        .filter(id=item_id, merged_into__isnull=True)
        .select_for_update()
        .values_list("version", flat=True)
        .first()
    )


# --- the matrix: axes ------------------------------------------------------------------------
# Item columns a matrix may plot: axis key -> (column, label).
ITEM_AXES: dict[str, tuple[str, str]] = {
    "effort": ("effort", "Effort (estimate)"),
    "customers": ("customer_count", "Customers asking"),
    "companies": ("company_count", "Companies asking"),
    "arr": ("arr", "ARR of the companies asking"),
    "evidence": ("evidence_count", "Linked feedback"),
}
# Axes where less is better, so a 2×2 against a value names its quadrants "quick wins" etc.
COST_INPUTS = frozenset({"rice.effort", "value_effort.effort", "wsjf.job_size"})


@dataclass(frozen=True)
class Axis:
    key: str  # "score:12", "input:rice.reach", "field:fit", or an ITEM_AXES key
    label: str
    group: str
    is_cost: bool = False
    is_money: bool = False


def matrix_axes(*, formulas: Sequence[ScoringFormula], fields: Iterable[ScoreField]) -> list[Axis]:
    """Every number an item can be plotted by: each formula's score, the inputs of the
    frameworks the workspace scores with, its own fields, and the item's effort and demand."""
    axes = [Axis(f"score:{f.id}", f.name, "Scores") for f in formulas]
    frameworks = [FRAMEWORKS[f.framework] for f in formulas if f.framework in FRAMEWORKS]
    axes += [
        Axis(
            f"input:{framework.key}.{spec.name}",
            f"{framework.name} {spec.label.lower()}",
            "Scoring inputs",
            is_cost=f"{framework.key}.{spec.name}" in COST_INPUTS,
        )
        for framework in frameworks
        for spec in framework.fields
    ]
    axes += [Axis(f"field:{f.name}", f.label, "Workspace fields") for f in fields]
    axes += [
        Axis(key, label, "Item", is_cost=key == "effort", is_money=key == "arr")
        for key, (_column, label) in ITEM_AXES.items()
    ]
    return axes


def _with_axis(qs: QuerySet[Item], workspace: Workspace, name: str, key: str) -> QuerySet[Item]:
    """`qs` with the axis's value for each item as `name`; null where the item has none.

    A score is a LEFT JOIN of the formula's ItemScore rows, not a subquery per item: the totals
    read every filtered item, and 100,000 index probes took ~1 s where one hash join of an
    index-only scan of item_score_rank takes tens of milliseconds."""
    kind, _, ident = key.partition(":")
    if kind == "score":
        relation = f"{name}_score"
        condition = Q(scores__workspace=workspace, scores__formula_id=int(ident))
        qs = qs.alias(**{relation: FilteredRelation("scores", condition=condition)})
        return qs.annotate(**{name: F(f"{relation}__value")})
    if kind in {"input", "field"}:
        value = Cast(KeyTextTransform(ident, "score_inputs__values"), FloatField())
        # RICE reads the item's own estimate when no RICE effort is set (backlog.scoring).
        return qs.annotate(
            **{name: Coalesce(value, F("effort")) if ident == "rice.effort" else value}
        )
    return qs.annotate(**{name: Cast(ITEM_AXES[key][0], FloatField())})


# --- the matrix: values ----------------------------------------------------------------------
@dataclass(frozen=True)
class AxisGap:
    """How many items one axis cannot place: no value, or none a log scale can show."""

    axis: Axis
    missing: int
    not_positive: int


@dataclass(frozen=True)
class MatrixValues:
    total: int  # items the filters match
    plottable: int  # of which have both values (and positive ones on a log axis)
    points: list[dict[str, Any]]  # the first MATRIX_POINT_LIMIT of those, in the manual order
    gaps: list[AxisGap]
    unplotted: list[dict[str, Any]]  # the first few items left out, with what they lack

    @property
    def is_capped(self) -> bool:
        return self.plottable > len(self.points)

    @property
    def unplotted_more(self) -> int:
        return self.total - self.plottable - len(self.unplotted)


def _plottable(name: str, log: bool) -> Q:
    return Q(**{f"{name}__gt": 0}) if log else Q(**{f"{name}__isnull": False})


def matrix_values(
    *,
    workspace: Workspace,
    filters: ItemFilters | None,
    x: Axis,
    y: Axis,
    x_log: bool = False,
    y_log: bool = False,
    limit: int = MATRIX_POINT_LIMIT,
) -> MatrixValues:
    """The filtered live items' values on two axes. Three queries whatever the count: the
    totals (conditional counts), the points (first `limit` in the manual order) and the first
    items left out."""
    qs = item_list(workspace=workspace, filters=filters)
    qs = _with_axis(_with_axis(qs, workspace, "x", x.key), workspace, "y", y.key)
    placed = _plottable("x", x_log) & _plottable("y", y_log)
    totals = qs.aggregate(
        total=Count("id"),
        plottable=Count("id", filter=placed),
        x_missing=Count("id", filter=Q(x__isnull=True)),
        y_missing=Count("id", filter=Q(y__isnull=True)),
        x_not_positive=Count("id", filter=Q(x__lte=0)),
        y_not_positive=Count("id", filter=Q(y__lte=0)),
    )
    order = ("rank", "id")
    points = list(
        qs.filter(placed).order_by(*order).values("id", "title", "status", "x", "y")[:limit]
    )
    unplotted = list(
        qs.exclude(placed).order_by(*order).values("id", "title", "x", "y")[:MISSING_LIST_LIMIT]
    )
    for row in unplotted:
        row["lacks"] = [
            f"no {axis.label}" if value is None else f"{axis.label} ≤ 0"
            for axis, value, log in ((x, row["x"], x_log), (y, row["y"], y_log))
            if value is None or (log and value <= 0)
        ]
    gaps = [
        AxisGap(
            axis=axis,
            missing=totals[f"{name}_missing"],
            not_positive=totals[f"{name}_not_positive"] if log else 0,
        )
        for axis, name, log in ((x, "x", x_log), (y, "y", y_log))
    ]
    return MatrixValues(
        total=totals["total"],
        plottable=totals["plottable"],
        points=points,
        gaps=[gap for gap in gaps if gap.missing or gap.not_positive],
        unplotted=unplotted,
    )


# --- the matrix: layout ----------------------------------------------------------------------
# The drawing's coordinate system; the SVG scales to its container through `viewBox`.
WIDTH = 680
HEIGHT = 480
PLOT_LEFT = 68
PLOT_RIGHT = WIDTH - 16
PLOT_TOP = 12
PLOT_BOTTOM = HEIGHT - 52
POINT_RADIUS = 5
QUADRANT_PAD = 8


def compact_number(value: float, money: bool = False) -> str:
    """1.2K, 3M, 0.25, 12; with a $ for money. For ticks and hover labels."""
    sign = "-" if value < 0 else ""
    amount = abs(value)
    prefix = "$" if money else ""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if round(amount / size, 1) >= 1:
            return f"{sign}{prefix}{amount / size:.1f}".removesuffix(".0") + suffix
    if amount == 0 or amount >= 100:
        return f"{sign}{prefix}{amount:.0f}"
    return f"{sign}{prefix}{amount:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Scale:
    low: float
    high: float
    log: bool
    ticks: tuple[float, ...]

    def share(self, value: float) -> float:
        """Where `value` sits between low (0) and high (1)."""
        if self.log:
            low, high, value = math.log10(self.low), math.log10(self.high), math.log10(value)
        else:
            low, high = self.low, self.high
        return (value - low) / (high - low)


def _nice_step(span: float, count: int = 5) -> float:
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _linear_scale(values: Sequence[float]) -> Scale:
    low, high = min(values), max(values)
    # Counts, money and effort start at zero: a zero baseline keeps "twice as far" honest.
    if low >= 0:
        low = 0.0
    if high == low:
        high = low + (abs(low) or 1)
    # Headroom above the highest point, where the top quadrants' names sit.
    high += (high - low) * 0.06
    step = _nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    count = round((high - low) / step)
    ticks = tuple(round(low + i * step, 10) for i in range(count + 1))
    return Scale(low, high, False, ticks)


def _log_scale(values: Sequence[float]) -> Scale:
    low = 10 ** math.floor(math.log10(min(values)))
    high = 10 ** math.ceil(math.log10(max(values)))
    if high == low:
        high = low * 10
    decades = round(math.log10(high / low))
    # Few decades leave room for 2× and 5× ticks between the powers of ten.
    steps = (1, 2, 5) if decades <= 2 else (1,)
    ticks = tuple(
        low * 10**d * m for d in range(decades + 1) for m in steps if low * 10**d * m <= high
    )
    return Scale(low, high, True, ticks)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Quadrant:
    name: str
    count: int
    x: float  # the label's anchor point
    y: float
    anchor: str  # "start" or "end"


@dataclass(frozen=True)
class Point:
    id: int
    title: str
    status: str
    x: float
    y: float
    x_label: str
    y_label: str
    cx: float
    cy: float
    quadrant: str
    url: str = ""  # the item's page, when the caller put one in the row


@dataclass(frozen=True)
class MatrixChart:
    x: Axis
    y: Axis
    x_scale: Scale
    y_scale: Scale
    x_split: float
    y_split: float
    x_split_label: str
    y_split_label: str
    split_cx: float
    split_cy: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    quadrants: list[Quadrant]
    points: list[Point]
    view_box: str = f"0 0 {WIDTH} {HEIGHT}"
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM
    x_label_x: float = (PLOT_LEFT + PLOT_RIGHT) / 2
    x_label_y: int = HEIGHT - 10
    y_label_x: float = -(PLOT_TOP + PLOT_BOTTOM) / 2
    y_label_y: int = 16
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def plot_width(self) -> int:
        return PLOT_RIGHT - PLOT_LEFT

    @property
    def plot_height(self) -> int:
        return PLOT_BOTTOM - PLOT_TOP

    @property
    def x_tick_label_y(self) -> int:
        return PLOT_BOTTOM + 18

    @property
    def y_tick_label_x(self) -> int:
        return PLOT_LEFT - 8


def quadrant_names(x: Axis, y: Axis) -> tuple[str, str, str, str]:
    """Names of the (high x, high y), (low x, high y), (low x, low y), (high x, low y)
    quadrants: the classic value-against-effort names when one axis is a cost."""
    if x.is_cost and not y.is_cost:
        return ("Big bets", "Quick wins", "Fill-ins", "Money pit")
    if y.is_cost and not x.is_cost:
        return ("Big bets", "Money pit", "Fill-ins", "Quick wins")
    return (
        f"High {x.label}, high {y.label}",
        f"Low {x.label}, high {y.label}",
        f"Low {x.label}, low {y.label}",
        f"High {x.label}, low {y.label}",
    )


def _split(values: list[float], chosen: float | None, scale: Scale) -> float:
    value = statistics.median(values) if chosen is None else chosen
    # A chosen split outside the drawing is pinned to its edge, so the lines stay on the chart.
    return min(max(value, scale.low), scale.high)


def matrix_chart(
    *,
    points: Sequence[dict[str, Any]],
    x: Axis,
    y: Axis,
    x_log: bool = False,
    y_log: bool = False,
    x_split: float | None = None,
    y_split: float | None = None,
) -> MatrixChart | None:
    """The scatter of `points` (rows with x and y) on the two axes, split into four quadrants
    at each axis's median or the chosen values; None when there is nothing to draw."""
    if not points:
        return None
    xs = [float(p["x"]) for p in points]
    ys = [float(p["y"]) for p in points]
    x_scale = _log_scale(xs) if x_log else _linear_scale(xs)
    y_scale = _log_scale(ys) if y_log else _linear_scale(ys)
    split_x = _split(xs, x_split, x_scale)
    split_y = _split(ys, y_split, y_scale)
    width, height = PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP

    def cx(value: float) -> float:
        return round(PLOT_LEFT + x_scale.share(value) * width, 1)

    def cy(value: float) -> float:
        return round(PLOT_BOTTOM - y_scale.share(value) * height, 1)

    high_high, low_high, low_low, high_low = quadrant_names(x, y)

    def quadrant_of(px: float, py: float) -> str:
        if py >= split_y:
            return high_high if px >= split_x else low_high
        return high_low if px >= split_x else low_low

    placed = [
        Point(
            id=row["id"],
            title=row["title"],
            status=row["status"],
            x=px,
            y=py,
            x_label=compact_number(px, x.is_money),
            y_label=compact_number(py, y.is_money),
            cx=cx(px),
            cy=cy(py),
            quadrant=quadrant_of(px, py),
            url=row.get("url", ""),
        )
        for row, px, py in zip(points, xs, ys, strict=True)
    ]
    counts = dict.fromkeys((high_high, low_high, low_low, high_low), 0)
    for point in placed:
        counts[point.quadrant] += 1
    top, bottom = PLOT_TOP + QUADRANT_PAD + 10, PLOT_BOTTOM - QUADRANT_PAD
    left, right = PLOT_LEFT + QUADRANT_PAD, PLOT_RIGHT - QUADRANT_PAD
    quadrants = [
        Quadrant(high_high, counts[high_high], right, top, "end"),
        Quadrant(low_high, counts[low_high], left, top, "start"),
        Quadrant(low_low, counts[low_low], left, bottom, "start"),
        Quadrant(high_low, counts[high_low], right, bottom, "end"),
    ]
    statuses = {p.status for p in placed}
    return MatrixChart(
        x=x,
        y=y,
        x_scale=x_scale,
        y_scale=y_scale,
        x_split=split_x,
        y_split=split_y,
        x_split_label=compact_number(split_x, x.is_money),
        y_split_label=compact_number(split_y, y.is_money),
        split_cx=cx(split_x),
        split_cy=cy(split_y),
        x_ticks=[Tick(cx(t), compact_number(t, x.is_money)) for t in x_scale.ticks],
        y_ticks=[Tick(cy(t), compact_number(t, y.is_money)) for t in y_scale.ticks],
        quadrants=quadrants,
        points=placed,
        legend=[(s.value, s.label) for s in Item.Status if s.value in statuses],
    )
