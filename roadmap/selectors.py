"""Reads of roadmaps: the list, a now/next/later board, a timeline, a release plan and the
history, each in a fixed number of statements whatever the number of items.

A board reads its cards in one statement: the placements of the filtered live items with what a
card shows (status, area, owner, primary score, demand, release and dates, objective), a page of
each column by rank (a LATERAL subquery per column) beside each column's count (a grouped count).
A column's next page is the same read from a rank on.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber

from backlog.models import Item, ItemScore, ItemTag, ScoringFormula
from pmhub.core.db import Built, CompiledStatements, compile_statement, statement_rows
from pmhub.workspaces.models import Workspace
from roadmap.models import (
    ItemSchedule,
    KeyResultItem,
    Placement,
    Release,
    Roadmap,
    RoadmapColumn,
    RoadmapEvent,
)

# Cards per column on one page: enough to plan a horizon by hand; "show more" pages on by rank.
COLUMN_PAGE = 100
# Bars on one timeline page: past a few hundred a timeline is a wall; filters narrow it.
TIMELINE_LIMIT = 400
HISTORY_PAGE = 50
# Releases shown as columns of a release plan: the open ones and those released lately.
RECENTLY_RELEASED_DAYS = 60


@dataclass(frozen=True)
class RoadmapFilters:
    """Which items a roadmap shows: the roadmap's saved filters and the page's, both applied."""

    area_ids: tuple[int, ...] = ()
    tag_ids: tuple[int, ...] = ()
    owner_ids: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RoadmapFilters:
        data = data or {}

        def ids(key: str) -> tuple[int, ...]:
            values = data.get(key) or ()
            values = values if isinstance(values, list | tuple) else [values]
            return tuple(sorted({int(v) for v in values if str(v).isdigit()}))

        statuses = data.get("status") or ()
        statuses = statuses if isinstance(statuses, list | tuple) else [statuses]
        return cls(
            area_ids=ids("area"),
            tag_ids=ids("tag"),
            owner_ids=ids("owner"),
            statuses=tuple(sorted({s for s in statuses if s in Item.Status.values})),
        )

    def narrowed(self, other: RoadmapFilters) -> RoadmapFilters:
        """Both sets of filters at once: the page can only narrow what the roadmap shows."""

        def both(mine: tuple, theirs: tuple) -> tuple:
            if mine and theirs:
                common = tuple(sorted(set(mine) & set(theirs)))
                return common or ("__none__",)
            return mine or theirs

        return RoadmapFilters(
            area_ids=both(self.area_ids, other.area_ids),
            tag_ids=both(self.tag_ids, other.tag_ids),
            owner_ids=both(self.owner_ids, other.owner_ids),
            statuses=both(self.statuses, other.statuses),
        )

    @property
    def active(self) -> bool:
        return bool(self.area_ids or self.tag_ids or self.owner_ids or self.statuses)


def _item_conditions(workspace: Workspace, filters: RoadmapFilters, prefix: str = "") -> Q:
    """The filters as conditions on the item, reached through `prefix` ("item__" from a
    placement or a schedule)."""
    q = Q(**{f"{prefix}merged_into__isnull": True})
    if "__none__" in (*filters.area_ids, *filters.tag_ids, *filters.owner_ids, *filters.statuses):
        return q & Q(pk__in=[])
    if filters.area_ids:
        q &= Q(**{f"{prefix}area_id__in": filters.area_ids})
    if filters.owner_ids:
        q &= Q(**{f"{prefix}owner_id__in": filters.owner_ids})
    if filters.statuses:
        q &= Q(**{f"{prefix}status__in": filters.statuses})
    if filters.tag_ids:
        tagged = ItemTag.objects.for_workspace(workspace).filter(tag_id__in=filters.tag_ids)
        q &= Q(**{f"{prefix}id__in": tagged.values("item_id")})
    return q


def _primary_score(workspace: Workspace, item_ref: str) -> Subquery:
    primary = ScoringFormula.objects.for_workspace(workspace).filter(is_primary=True).values("id")
    return Subquery(
        ItemScore.objects.for_workspace(workspace)
        .filter(item_id=OuterRef(item_ref), formula_id=Subquery(primary[:1]))
        .values("value")[:1]
    )


def _objective_of(workspace: Workspace, item_ref: str, field: str) -> Subquery:
    """The first objective (in the objectives' order) an item serves through a key result."""
    return Subquery(
        KeyResultItem.objects.for_workspace(workspace)
        .filter(item_id=OuterRef(item_ref))
        .order_by("key_result__objective__position", "key_result__objective_id")
        .values(f"key_result__objective__{field}")[:1]
    )


# What a card shows, read from a placement (`item__...`); a schedule read uses the same names
# without the placement's own fields.
CARD_VALUES = (
    "item_id",
    "item__title",
    "item__kind",
    "item__status",
    "item__version",
    "item__area_id",
    "item__area__name",
    "item__owner_id",
    "item__owner__name",
    "item__owner__email",
    "item__customer_count",
    "item__company_count",
    "item__arr",
    "item__evidence_count",
    "item__schedule__release_id",
    "item__schedule__release__name",
    "item__schedule__start_date",
    "item__schedule__end_date",
)


@functools.cache
def _card_key(field: str) -> str:
    """A card's name for a row's field: the `item__` prefix dropped, names shortened."""
    if field == "item_id":
        return "id"
    return field.removeprefix("item__").replace("schedule__", "").replace("__", "_")


def _card(row: dict[str, Any]) -> dict[str, Any]:
    """A flat row as a card, keyed by `_card_key`."""
    return {_card_key(key): value for key, value in row.items()}


# --- roadmaps ----------------------------------------------------------------------------------
def roadmap_list(*, workspace: Workspace) -> QuerySet[Roadmap]:
    """The workspace's roadmaps by name, each with how many items sit on its board."""
    return (
        Roadmap.objects.for_workspace(workspace)
        .annotate(placement_count=Count("placements"))
        .select_related("created_by")
        .order_by("name", "id")
    )


def roadmap_get(*, workspace: Workspace, roadmap_id: int) -> Roadmap:
    return roadmap_query(workspace=workspace, roadmap_id=roadmap_id).get()


def roadmap_query(*, workspace: Workspace, roadmap_id: int) -> QuerySet[Roadmap]:
    """The roadmap as a queryset (empty when unknown here), to read beside a page's others."""
    return Roadmap.objects.for_workspace(workspace).filter(id=roadmap_id)


def roadmap_columns(*, workspace: Workspace, roadmap: Roadmap) -> list[RoadmapColumn]:
    return list(roadmap_columns_query(workspace=workspace, roadmap_id=roadmap.id))


def roadmap_columns_query(*, workspace: Workspace, roadmap_id: int) -> QuerySet[RoadmapColumn]:
    """A roadmap's columns left to right, by the roadmap's id (read before the roadmap is)."""
    return (
        RoadmapColumn.objects.for_workspace(workspace)
        .filter(roadmap_id=roadmap_id)
        .order_by("position", "id")
    )


def roadmap_filters(roadmap: Roadmap, page: dict[str, Any] | None = None) -> RoadmapFilters:
    return RoadmapFilters.from_dict(roadmap.filters).narrowed(RoadmapFilters.from_dict(page))


# --- a now/next/later board ----------------------------------------------------------------------
@dataclass
class BoardColumn:
    column: RoadmapColumn
    count: int
    cards: list[dict[str, Any]]

    @property
    def next_rank(self) -> str | None:
        """Where the column's next page starts, when there is one."""
        return self.cards[-1]["rank"] if self.count > len(self.cards) and self.cards else None


def _placements(
    workspace: Workspace, roadmap: Roadmap, filters: RoadmapFilters, with_objective: bool
) -> QuerySet[Placement]:
    qs = (
        Placement.objects.for_workspace(workspace)
        .filter(roadmap=roadmap)
        .filter(_item_conditions(workspace, filters, "item__"))
        .annotate(score=_primary_score(workspace, "item_id"))
    )
    if with_objective:
        qs = qs.annotate(
            objective_id=_objective_of(workspace, "item_id", "id"),
            objective_title=_objective_of(workspace, "item_id", "title"),
        )
    return qs


def _card_fields(with_objective: bool) -> tuple[str, ...]:
    return (
        *CARD_VALUES,
        "column_id",
        "rank",
        "version",
        "score",
        *(("objective_id", "objective_title") if with_objective else ()),
    )


# The board's cards statement, from two ORM-compiled parts: {counts} (column_id, column_count)
# and {cards}, whose column is the current one's ("board_column"."column_id", _COLUMN_ID). The
# outer order names the card's rank and id by position, which values_list fixes.
_BOARD_SQL = (
    'SELECT "board_column"."column_count", "board_card".* FROM ({counts}) "board_column" '
    'CROSS JOIN LATERAL ({cards}) "board_card" '
    'ORDER BY "board_column"."column_id", {rank}, {id}'
)
_COLUMN_ID = RawSQL('"board_column"."column_id"', (), output_field=IntegerField())  # noqa: S611


def _column_counts(
    workspace: Workspace, roadmap: Roadmap, filters: RoadmapFilters
) -> QuerySet[Placement, dict[str, Any]]:
    """(column_id, column_count) of the board's filtered live items, one row per column that
    has any."""
    placements = Placement.objects.for_workspace(workspace).filter(roadmap=roadmap).order_by()
    if filters.active:
        # The item's workspace: see roadmap_placement_list.
        return (
            placements.filter(
                _item_conditions(workspace, filters, "item__"), item__workspace=workspace
            )
            .values("column_id")
            .annotate(column_count=Count("*"))
        )
    # Unfiltered, a column's live items are its placements less those of merged items, found
    # by the merged_into index once and hashed: no join, where joining each placement to its
    # item to check it is live read the whole item table (~60 ms beside 100,000 items). Must
    # match _item_conditions's own condition when no filter is set.
    merged = Item.objects.for_workspace(workspace).filter(merged_into__isnull=False)
    return placements.values("column_id").annotate(
        column_count=Count("id", filter=~Q(item_id__in=merged.values("id")))
    )


def _board_statement(
    workspace: Workspace,
    roadmap: Roadmap,
    filters: RoadmapFilters,
    with_objective: bool,
    page_size: int,
) -> tuple[str, list[Any]] | None:
    """The board's cards statement and its parameters; None when the ORM knows a part matches
    nothing (an empty `in`, a filter no item passes)."""
    # values_list keeps the fields in the order given, so rows are read by position; the
    # placement's id comes last, only to order ties of rank.
    fields = _card_fields(with_objective)
    cards = (
        _placements(workspace, roadmap, filters, with_objective)
        .filter(column_id=_COLUMN_ID)
        .order_by("rank", "id")
        .values_list(*fields, "id")[:page_size]
    )
    counts = _column_counts(workspace, roadmap, filters)
    try:
        counts_sql, counts_params = counts.query.sql_with_params()
        cards_sql, cards_params = cards.query.sql_with_params()
    except EmptyResultSet:
        return None
    # Positions in the outer row: column_count first, then the card's fields.
    statement = _BOARD_SQL.format(
        counts=counts_sql,
        cards=cards_sql,
        rank=fields.index("rank") + 2,
        id=len(fields) + 2,
    )
    return statement, [*counts_params, *cards_params]


# Composing and compiling the board's statement through the ORM cost ~5 ms a page, more than
# PostgreSQL takes to run it. Its SQL depends only on its shape (the filters, whether cards
# carry their objective, the page size); the workspace and the roadmap are its only per-request
# values. So each shape is compiled once, with stand-ins for those two, and pages bind them.
_BOARD_STATEMENTS = CompiledStatements(kept=256)


def _board_rows(
    workspace: Workspace,
    roadmap: Roadmap,
    filters: RoadmapFilters,
    with_objective: bool,
    page_size: int,
) -> list[tuple[Any, ...]]:
    values = {"workspace_id": workspace.id, "roadmap_id": roadmap.id}

    def build(stand_ins: dict[str, Any]) -> Built:
        built = _board_statement(
            Workspace(id=stand_ins["workspace_id"]),
            Roadmap(id=stand_ins["roadmap_id"]),
            filters,
            with_objective,
            page_size,
        )
        if built is None:
            return None
        return (*built, ("column_count", *_card_fields(with_objective), "id"))

    shape = (filters, with_objective, page_size)
    compiled = _BOARD_STATEMENTS.get(shape, lambda: compile_statement(build, values))
    if compiled is not None:
        return statement_rows(compiled, values, using=Placement.objects.db)
    built = _board_statement(workspace, roadmap, filters, with_objective, page_size)
    if built is None:
        return []
    with connections[Placement.objects.db].cursor() as cursor:
        cursor.execute(*built)
        return cursor.fetchall()


def roadmap_board(
    *,
    workspace: Workspace,
    roadmap: Roadmap,
    filters: RoadmapFilters | None = None,
    page_size: int = COLUMN_PAGE,
    columns: list[RoadmapColumn] | None = None,
) -> list[BoardColumn]:
    """The board's columns, each with its first `page_size` cards by rank and its count: two
    statements (columns, cards), one when the caller read the `columns` already.

    The cards: the counts grouped by column, and for each column a LATERAL subquery of its first
    `page_size` placements, which walks placement_order from the top of that column and stops,
    so the score and objective subqueries run for the cards shown only. (A row_number() window
    computed them for every placement of the board: ~65 ms at 5,000 cards.)
    """
    filters = filters if filters is not None else roadmap_filters(roadmap)
    with_objective = roadmap.group_by == Roadmap.GroupBy.OBJECTIVE
    if columns is None:
        columns = roadmap_columns(workspace=workspace, roadmap=roadmap)
    by_column: dict[int, BoardColumn] = {c.id: BoardColumn(c, 0, []) for c in columns}
    # column_count first, the placement's id (only to order ties) last: both stay on the card.
    names = (
        "column_count",
        *(_card_key(field) for field in _card_fields(with_objective)),
        "placement_id",
    )
    for row in _board_rows(workspace, roadmap, filters, with_objective, page_size):
        card = dict(zip(names, row, strict=True))
        column = by_column.get(card["column_id"])
        if column is None:  # a column deleted between the two statements
            continue
        column.count = card["column_count"]
        column.cards.append(card)
    return list(by_column.values())


def roadmap_column_page(
    *,
    workspace: Workspace,
    roadmap: Roadmap,
    column: RoadmapColumn,
    after_rank: str,
    filters: RoadmapFilters | None = None,
    page_size: int = COLUMN_PAGE,
) -> list[dict[str, Any]]:
    """The cards of one column after `after_rank`: one statement. One more than `page_size`
    comes back when there are more."""
    filters = filters if filters is not None else roadmap_filters(roadmap)
    with_objective = roadmap.group_by == Roadmap.GroupBy.OBJECTIVE
    rows = (
        _placements(workspace, roadmap, filters, with_objective)
        .filter(column=column, rank__gt=after_rank)
        .order_by("rank", "id")
        .values(*_card_fields(with_objective))[: page_size + 1]
    )
    return [_card(row) for row in rows]


def roadmap_placement_list(
    *,
    workspace: Workspace,
    roadmap: Roadmap,
    filters: RoadmapFilters | None = None,
) -> QuerySet[Placement]:
    """Every placement of the board in (column position, rank) order, as rows: the API pages
    through this with a keyset on (column position, rank, id)."""
    filters = filters if filters is not None else roadmap_filters(roadmap)
    with_objective = roadmap.group_by == Roadmap.GroupBy.OBJECTIVE
    # The item's workspace too: without it the planner joined the board's placements to every
    # workspace's items (a scan of the whole item table, ~25 ms at 100,000 items); with it, to
    # this workspace's. (Not in _placements: a column's first page probes its few items by id.)
    return (
        _placements(workspace, roadmap, filters, with_objective)
        .filter(item__workspace=workspace)
        .annotate(column_position=F("column__position"), column_name=F("column__name"))
        .order_by("column_position", "rank", "id")
    )


# --- a timeline --------------------------------------------------------------------------------
@dataclass
class Timeline:
    start: datetime.date
    end: datetime.date
    bars: list[dict[str, Any]]
    count: int  # how many items fall in the window, of which `bars` holds the first


def timeline_window(
    scale: str, today: datetime.date, offset: int = 0
) -> tuple[datetime.date, datetime.date]:
    """The dates a timeline shows: six months from the month before today, or four quarters
    from this one; `offset` moves by a whole window."""
    if scale == Roadmap.Scale.QUARTER:
        first_month = (today.month - 1) // 3 * 3 + 1
        start = _add_months(datetime.date(today.year, first_month, 1), 12 * offset)
        return start, _add_months(start, 12) - datetime.timedelta(days=1)
    start = _add_months(datetime.date(today.year, today.month, 1), -1 + 6 * offset)
    return start, _add_months(start, 6) - datetime.timedelta(days=1)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def roadmap_timeline(
    *,
    workspace: Workspace,
    roadmap: Roadmap,
    start: datetime.date,
    end: datetime.date,
    filters: RoadmapFilters | None = None,
    limit: int = TIMELINE_LIMIT,
) -> Timeline:
    """The filtered items whose dates (or, without dates, whose release's target date) fall in
    [start, end], by start: one statement, counted by a window function."""
    filters = filters if filters is not None else roadmap_filters(roadmap)
    with_objective = roadmap.group_by == Roadmap.GroupBy.OBJECTIVE
    begins = Q(start_date__isnull=False) | Q(end_date__isnull=False)
    in_window = (
        begins
        & (Q(start_date__lte=end) | Q(start_date__isnull=True, end_date__lte=end))
        & (Q(end_date__gte=start) | Q(end_date__isnull=True, start_date__gte=start))
    ) | (
        Q(start_date__isnull=True, end_date__isnull=True)
        & Q(release__target_date__gte=start, release__target_date__lte=end)
    )
    qs = (
        ItemSchedule.objects.for_workspace(workspace)
        .filter(in_window)
        .filter(_item_conditions(workspace, filters, "item__"))
        .annotate(
            score=_primary_score(workspace, "item_id"),
            release_target=F("release__target_date"),
            total=Window(Count("id")),
        )
    )
    if with_objective:
        qs = qs.annotate(
            objective_id=_objective_of(workspace, "item_id", "id"),
            objective_title=_objective_of(workspace, "item_id", "title"),
        )
    fields = [
        *(v.replace("item__schedule__", "") for v in CARD_VALUES),
        "score",
        "release_target",
        "total",
        *(("objective_id", "objective_title") if with_objective else ()),
    ]
    rows = list(
        qs.order_by(F("start_date").asc(nulls_last=True), "release__target_date", "item_id").values(
            *fields
        )[:limit]
    )
    count = rows[0]["total"] if rows else 0
    bars = []
    for row in rows:
        del row["total"]
        bars.append(_card(row))
    return Timeline(start=start, end=end, bars=bars, count=count)


# --- a release plan ----------------------------------------------------------------------------
@dataclass
class ReleaseColumn:
    release: Release
    count: int
    shipped: int
    cards: list[dict[str, Any]]


def roadmap_release_plan(
    *,
    workspace: Workspace,
    roadmap: Roadmap,
    today: datetime.date,
    filters: RoadmapFilters | None = None,
    page_size: int = COLUMN_PAGE,
) -> list[ReleaseColumn]:
    """Releases as columns (open ones, and those released in the last two months), by target
    date, each with its filtered items by rank: two statements."""
    filters = filters if filters is not None else roadmap_filters(roadmap)
    with_objective = roadmap.group_by == Roadmap.GroupBy.OBJECTIVE
    releases = list(
        Release.objects.for_workspace(workspace)
        .filter(
            ~Q(status=Release.Status.RELEASED)
            | Q(released_on__gte=today - datetime.timedelta(days=RECENTLY_RELEASED_DAYS))
        )
        .order_by(F("target_date").asc(nulls_last=True), "id")
    )
    columns = {r.id: ReleaseColumn(r, 0, 0, []) for r in releases}
    qs = (
        ItemSchedule.objects.for_workspace(workspace)
        .filter(release_id__in=list(columns))
        .filter(_item_conditions(workspace, filters, "item__"))
        .annotate(
            score=_primary_score(workspace, "item_id"),
            position_in_column=Window(
                RowNumber(), partition_by=[F("release_id")], order_by=[F("item__rank"), F("id")]
            ),
            column_count=Window(Count("id"), partition_by=[F("release_id")]),
            column_shipped=Window(
                Count("id", filter=Q(item__status=Item.Status.SHIPPED)),
                partition_by=[F("release_id")],
            ),
        )
        .filter(position_in_column__lte=page_size)
        .order_by("release_id", "item__rank", "id")
    )
    if with_objective:
        qs = qs.annotate(
            objective_id=_objective_of(workspace, "item_id", "id"),
            objective_title=_objective_of(workspace, "item_id", "title"),
        )
    fields = [
        *(v.replace("item__schedule__", "") for v in CARD_VALUES),
        "score",
        "column_count",
        "column_shipped",
        *(("objective_id", "objective_title") if with_objective else ()),
    ]
    for row in qs.values(*fields):
        column = columns[row["release_id"]]
        column.count = row.pop("column_count")
        column.shipped = row.pop("column_shipped")
        column.cards.append(_card(row))
    return list(columns.values())


# --- history -------------------------------------------------------------------------------------
def roadmap_event_list(
    *,
    workspace: Workspace,
    roadmap: Roadmap | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    kinds: tuple[str, ...] = (),
) -> QuerySet[RoadmapEvent]:
    """Events, newest first. For a roadmap: its own (placements and moves) and those of the
    items it shows (dates, releases, ships, declines)."""
    qs = RoadmapEvent.objects.for_workspace(workspace)
    if roadmap is not None:
        if roadmap.kind == Roadmap.Kind.NOW_NEXT_LATER:
            on_board = Placement.objects.for_workspace(workspace).filter(roadmap=roadmap)
            shown = Q(item_id__in=on_board.values("item_id"))
        else:
            filters = roadmap_filters(roadmap)
            scheduled = ItemSchedule.objects.for_workspace(workspace).filter(
                _item_conditions(workspace, filters, "item__")
            )
            shown = Q(item_id__in=scheduled.values("item_id"))
            if roadmap.kind == Roadmap.Kind.RELEASE_PLAN:
                shown |= Q(item__isnull=True, release__isnull=False)
        qs = qs.filter(Q(roadmap=roadmap) | (shown & ~Q(kind__in=_BOARD_KINDS)))
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.select_related("actor", "item", "release", "roadmap").order_by("-created_at", "-id")


# Moves on one board are that board's history, not every board's the item sits on.
_BOARD_KINDS = (
    RoadmapEvent.Kind.PLACED,
    RoadmapEvent.Kind.MOVED,
    RoadmapEvent.Kind.REMOVED,
)


# --- helpers for the roadmap pages ---------------------------------------------------------------
def roadmap_column_get(*, workspace: Workspace, roadmap: Roadmap, column_id: int) -> RoadmapColumn:
    return RoadmapColumn.objects.for_workspace(workspace).get(roadmap=roadmap, id=column_id)


def roadmap_event_page(
    *,
    workspace: Workspace,
    roadmap: Roadmap,
    kinds: tuple[str, ...] = (),
    before: tuple[datetime.datetime, int] | None = None,
    limit: int = HISTORY_PAGE,
) -> tuple[list[RoadmapEvent], bool]:
    """One page of a roadmap's history, newest first, older than `before` (a (time, id) keyset,
    so events of the same instant are neither skipped nor repeated): one statement. Also says
    whether older events remain."""
    qs = roadmap_event_list(workspace=workspace, roadmap=roadmap, kinds=kinds)
    if before is not None:
        at, event_id = before
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=event_id))
    events = list(qs[: limit + 1])
    return events[:limit], len(events) > limit
