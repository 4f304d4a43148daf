"""Reads of the backlog."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Lower

from backlog.models import (
    Item,
    ItemCustomer,
    ItemEvidence,
    ItemInputs,
    ItemScore,
    ItemTag,
    ProductArea,
    ScoreField,
    ScoringFormula,
    ScoringJob,
)
from pmhub.workspaces.models import Workspace


def item_ids_asked_through(
    *,
    workspace: Workspace,
    customer_ids: Iterable[int] = (),
    feedback_ids: Iterable[int] = (),
    insight_ids: Iterable[int] = (),
) -> set[int]:
    """Items whose demand these customers, feedback items or insights are part of."""
    customer_ids, feedback_ids, insight_ids = (
        list(customer_ids),
        list(feedback_ids),
        list(insight_ids),
    )
    item_ids: set[int] = set()
    if customer_ids:
        item_ids |= set(
            ItemCustomer.objects.for_workspace(workspace)
            .filter(customer_id__in=customer_ids)
            .values_list("item_id", flat=True)
        )
    if feedback_ids or insight_ids:
        item_ids |= set(
            ItemEvidence.objects.for_workspace(workspace)
            .filter(Q(feedback_id__in=feedback_ids) | Q(insight_id__in=insight_ids))
            .values_list("item_id", flat=True)
        )
    return item_ids


# --- the item list (the table, the API and the CSV export) -----------------------------------
# sort name -> (column, descending). Every sort ends on id in the same direction, so
# (value, id) is a total order and a keyset cursor is exact. Score sorts: backlog.listing.
ITEM_SORTS: dict[str, tuple[str, bool]] = {
    "rank": ("rank", False),
    "customers": ("customer_count", True),
    "companies": ("company_count", True),
    "arr": ("arr", True),
    "evidence": ("evidence_count", True),
    "created": ("created_at", True),
    "updated": ("updated_at", True),
}


@dataclass(frozen=True)
class ItemFilters:
    statuses: tuple[str, ...] = ()
    kind: str = ""
    area_id: int | None = None
    owner_id: int | None = None
    tag_id: int | None = None
    parent_id: int | None = None
    # Items asked for by customers of this segment.
    segment: str = ""
    query: str = ""
    min_customers: int | None = None
    # A score range by one formula, the primary when None (inclusive; either end may be open).
    # Unknown scores never match.
    score_formula_id: int | None = None
    score_min: float | None = None
    score_max: float | None = None

    @property
    def active(self) -> bool:
        return any(
            (
                self.statuses,
                self.kind,
                self.area_id,
                self.owner_id,
                self.tag_id,
                self.parent_id,
                self.segment,
                self.query,
                self.min_customers is not None,
                self.score_min is not None,
                self.score_max is not None,
            )
        )


def item_list(*, workspace: Workspace, filters: ItemFilters | None = None) -> QuerySet[Item]:
    """Live (not merged) items of the workspace narrowed by `filters`, in no particular order."""
    filters = filters or ItemFilters()
    qs = Item.objects.for_workspace(workspace).filter(merged_into__isnull=True)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.area_id:
        qs = qs.filter(area_id=filters.area_id)
    if filters.owner_id:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.parent_id:
        qs = qs.filter(parent_id=filters.parent_id)
    if filters.tag_id:
        qs = qs.filter(
            id__in=ItemTag.objects.for_workspace(workspace)
            .filter(tag_id=filters.tag_id)
            .values("item_id")
        )
    if filters.segment:
        qs = qs.filter(demand_by_segment__has_key=filters.segment)
    if filters.min_customers is not None:
        qs = qs.filter(customer_count__gte=filters.min_customers)
    if filters.score_min is not None or filters.score_max is not None:
        formula: Any = filters.score_formula_id
        if formula is None:  # the primary formula, found by the same statement
            formula = Subquery(
                ScoringFormula.objects.for_workspace(workspace)
                .filter(is_primary=True)
                .values("id")[:1]
            )
        scores = ItemScore.objects.for_workspace(workspace).filter(
            formula_id=formula, value__isnull=False
        )
        if filters.score_min is not None:
            scores = scores.filter(value__gte=filters.score_min)
        if filters.score_max is not None:
            scores = scores.filter(value__lte=filters.score_max)
        qs = qs.filter(id__in=scores.values("item_id"))
    if filters.query:
        words = SearchQuery(filters.query, config="english", search_type="websearch")
        qs = qs.filter(Q(title__icontains=filters.query) | Q(search_vector=words))
    return qs


def item_get(*, workspace: Workspace, item_id: int) -> Item:
    """A live item with its owner, area and parent; raises Item.DoesNotExist otherwise."""
    return (
        Item.objects.for_workspace(workspace)
        .filter(merged_into__isnull=True)
        .select_related("owner", "area", "parent")
        .get(id=item_id)
    )


def item_children(*, workspace: Workspace, item: Item) -> QuerySet[Item]:
    return (
        Item.objects.for_workspace(workspace)
        .filter(parent=item, merged_into__isnull=True)
        .order_by("rank", "id")
    )


def item_search(*, workspace: Workspace, query: str, limit: int = 10) -> list[Item]:
    """Live items whose title (or text) matches `query`, best ranked first; for pickers."""
    query = query.strip()
    qs = item_list(workspace=workspace, filters=ItemFilters(query=query) if query else None)
    return list(qs.order_by("rank", "id").only("id", "title", "kind", "status")[:limit])


def item_evidence_list(*, workspace: Workspace, item: Item) -> QuerySet[ItemEvidence]:
    """An item's evidence with the words (feedback text, insight title) and who said them."""
    return (
        ItemEvidence.objects.for_workspace(workspace)
        .filter(item=item)
        .select_related("insight", "feedback", "feedback__customer", "feedback__customer__company")
        .order_by("-created_at", "-id")
    )


def item_evidence_get(*, workspace: Workspace, item_evidence_id: int) -> ItemEvidence:
    return ItemEvidence.objects.for_workspace(workspace).get(id=item_evidence_id)


def item_customer_list(*, workspace: Workspace, item: Item) -> list[ItemCustomer]:
    """Who asked for the item, with company; critical first, then by their company's ARR."""
    weight = {
        ItemCustomer.Importance.CRITICAL: 0,
        ItemCustomer.Importance.IMPORTANT: 1,
        ItemCustomer.Importance.NICE_TO_HAVE: 2,
    }
    rows = list(
        ItemCustomer.objects.for_workspace(workspace)
        .filter(item=item)
        .select_related("customer", "customer__company")
    )
    return sorted(
        rows,
        key=lambda r: (
            weight.get(r.importance, 3),
            -(r.customer.company.arr or 0) if r.customer.company else 0,
            r.customer.name.lower(),
        ),
    )


def product_area_list(*, workspace: Workspace) -> QuerySet[ProductArea]:
    return ProductArea.objects.for_workspace(workspace).order_by(Lower("name"))


# --- scores ------------------------------------------------------------------------------------
def primary_formula_get(*, workspace: Workspace) -> ScoringFormula | None:
    """The formula the table shows and sorts by, or None before scoring is set up."""
    return primary_formula_query(workspace=workspace).first()


def primary_formula_query(*, workspace: Workspace) -> QuerySet[ScoringFormula]:
    """The primary formula as a query of at most one row, for a page that reads it with its
    other reads."""
    return (
        ScoringFormula.objects.for_workspace(workspace).filter(is_primary=True).order_by("id")[:1]
    )


def formula_list(*, workspace: Workspace) -> list[ScoringFormula]:
    return list(ScoringFormula.objects.for_workspace(workspace).order_by("position", "id"))


def score_field_list(*, workspace: Workspace) -> list[ScoreField]:
    return list(ScoreField.objects.for_workspace(workspace).order_by("name"))


def scoring_job_latest(*, workspace: Workspace) -> list[ScoringJob]:
    """The most recent recompute job of each formula that has one (one query)."""
    return list(
        ScoringJob.objects.for_workspace(workspace)
        .select_related("formula")
        .order_by("formula_id", "-id")
        .distinct("formula_id")
    )


def item_score_list(*, workspace: Workspace, item: Item) -> dict[int, ItemScore]:
    """The item's stored scores by formula id."""
    return {
        score.formula_id: score
        for score in ItemScore.objects.for_workspace(workspace).filter(item_id=item.id)
    }


def item_inputs_values(*, workspace: Workspace, item: Item) -> dict[str, Any]:
    """The scoring inputs set on the item ("rice.reach", a field's name), {} when none."""
    values = (
        ItemInputs.objects.for_workspace(workspace)
        .filter(item_id=item.id)
        .values_list("values", flat=True)
        .first()
    )
    return values or {}


# --- evidence seen from Discovery ------------------------------------------------------------
ITEMS_CITING_LIMIT = 50


def items_citing(
    *,
    workspace: Workspace,
    feedback_id: int | None = None,
    insight_id: int | None = None,
    limit: int = ITEMS_CITING_LIMIT,
) -> list[ItemEvidence]:
    """The links making this feedback item or insight evidence of live backlog items, each with
    its item (title, status, customers) loaded, in backlog order; one query. At most `limit`
    + 1 rows, so a caller can tell that there are more than it shows."""
    if (feedback_id is None) == (insight_id is None):
        raise ValueError("Give a feedback id or an insight id.")
    source = {"feedback_id": feedback_id} if feedback_id is not None else {"insight_id": insight_id}
    return list(
        ItemEvidence.objects.for_workspace(workspace)
        .filter(**source, item__merged_into__isnull=True)
        .select_related("item")
        .only(
            "id",
            "item_id",
            "insight_id",
            "feedback_id",
            "item__id",
            "item__title",
            "item__kind",
            "item__status",
            "item__customer_count",
        )
        .order_by("item__rank", "item_id")[: limit + 1]
    )


def _importance_weight(field: str) -> Case:
    """Critical first, then important, then nice to have, then no known customer (SQL)."""
    return Case(
        When(**{field: ItemCustomer.Importance.CRITICAL}, then=Value(0)),
        When(**{field: ItemCustomer.Importance.IMPORTANT}, then=Value(1)),
        When(**{field: ItemCustomer.Importance.NICE_TO_HAVE}, then=Value(2)),
        default=Value(3),
    )


def item_evidence_ranked(
    *, workspace: Workspace, item: Item, kind: str = ""
) -> QuerySet[ItemEvidence]:
    """An item's evidence ("feedback" or "insight" only, or both) with the words and who said
    them, each feedback link annotated with its customer's `importance` for this item: insights
    first, then feedback by importance (critical first), newest first within each. Ordered in
    SQL, so a page of it is one query however many links there are."""
    asker = ItemCustomer.objects.for_workspace(workspace).filter(
        item_id=item.id, customer_id=OuterRef("feedback__customer_id")
    )
    qs = ItemEvidence.objects.for_workspace(workspace).filter(item_id=item.id)
    if kind == "feedback":
        qs = qs.filter(feedback__isnull=False)
    elif kind == "insight":
        qs = qs.filter(insight__isnull=False)
    return (
        qs.select_related(
            "insight", "feedback", "feedback__customer", "feedback__customer__company"
        )
        .annotate(
            importance=Subquery(asker.values("importance")[:1]),
            weight=Case(
                When(insight__isnull=False, then=Value(-1)),
                default=Coalesce(
                    Subquery(
                        asker.annotate(weight=_importance_weight("importance")).values("weight")[:1]
                    ),
                    Value(3),
                ),
            ),
        )
        .order_by("weight", "-created_at", "-id")
    )


def item_customers_ranked(*, workspace: Workspace, item: Item) -> QuerySet[ItemCustomer]:
    """Who asked for the item, with company: critical first, then by their company's ARR, then
    by name; ordered in SQL, so a page of it is one query however many asked."""
    return (
        ItemCustomer.objects.for_workspace(workspace)
        .filter(item_id=item.id)
        .select_related("customer", "customer__company")
        .order_by(
            _importance_weight("importance"),
            F("customer__company__arr").desc(nulls_last=True),
            Lower("customer__name"),
            "id",
        )
    )


# --- the item page at scale: reads whose cost does not grow with the workspace or the item -----
PARENT_KINDS = (Item.Kind.EPIC, Item.Kind.FEATURE)


def item_parent_options(
    *, workspace: Workspace, item: Item, query: str = "", limit: int = 12
) -> list[Item]:
    """Live epics and features matching `query` (best ranked first) that `item` may move under:
    neither the item itself nor any item below it, so no choice makes a circle."""
    below = RawSQL(
        # Walks down from the item through the item_parent index; UNION (not ALL) stops at an
        # existing loop, which item_update never writes but older data might hold.
        "WITH RECURSIVE below(id) AS ("
        " SELECT id FROM backlog_item WHERE workspace_id = %s AND parent_id = %s"
        " UNION SELECT child.id FROM backlog_item child JOIN below ON child.parent_id = below.id"
        " WHERE child.workspace_id = %s"
        ") SELECT id FROM below",
        (workspace.id, item.id, workspace.id),
    )
    query = query.strip()
    qs = (
        item_list(workspace=workspace, filters=ItemFilters(query=query) if query else None)
        .filter(kind__in=PARENT_KINDS)
        .filter(~Q(id=item.id), ~Q(id__in=below))
    )
    return list(qs.order_by("rank", "id").only("id", "title", "kind", "status")[:limit])


def item_parent_get(*, workspace: Workspace, item: Item, parent_id: int) -> Item:
    """The live epic or feature `parent_id` of the workspace, other than `item`, as a parent
    for it; Item.DoesNotExist otherwise. (item_update refuses the item's descendants.)"""
    return (
        Item.objects.for_workspace(workspace)
        .filter(merged_into__isnull=True, kind__in=PARENT_KINDS)
        .exclude(id=item.id)
        .only("id", "title", "kind")
        .get(id=parent_id)
    )


def item_evidence_newest(*, workspace: Workspace, item: Item, limit: int) -> list[ItemEvidence]:
    """The item's `limit` newest links with their words and who said them. The links are picked
    on the narrow table first; only those few are joined to feedback, customer and company."""
    newest = (
        ItemEvidence.objects.for_workspace(workspace)
        .filter(item_id=item.id)
        .order_by("-created_at", "-id")
        .values("id")[:limit]
    )
    return list(item_evidence_list(workspace=workspace, item=item).filter(id__in=Subquery(newest)))


# How many of an item's newest feedback links the item page ranks by importance. Finding a
# link's customer means reading its feedback row, so ranking all of an item's links (tens of
# thousands) costs a random read each; within this window it costs a few milliseconds. Items with
# fewer feedback links than this are ranked exactly; the evidence page always ranks all of them.
QUOTES_WINDOW = 500


def item_quotes_top(*, workspace: Workspace, item: Item, limit: int) -> list[ItemEvidence]:
    """The item's most telling quotes: of its QUOTES_WINDOW newest feedback links, critical
    customers' first, then important, nice to have and unknown, newest first within each; each
    annotated with its customer's `importance` for the item. One query."""
    window = (
        ItemEvidence.objects.for_workspace(workspace)
        .filter(item_id=item.id, feedback__isnull=False)
        .order_by("-created_at", "-id")
        .values("id")[:QUOTES_WINDOW]
    )
    return list(
        item_evidence_ranked(workspace=workspace, item=item, kind="feedback").filter(
            id__in=Subquery(window)
        )[:limit]
    )
