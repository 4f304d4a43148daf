"""The item list as the API reads it: filters, sorts and keyset pages of plain rows.

Pages are keyset-paginated on (sort column, id), so a page deep in the list costs what the first
one costs, and the number of SQL statements per page is fixed (rows, then their tags).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from django.contrib.postgres.search import SearchQuery
from django.db.models import Q, QuerySet

from backlog.models import Item, ItemTag
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import Workspace

# sort name -> (column, descending). Every sort ends on id, in the same direction.
SORTS: dict[str, tuple[str, bool]] = {
    "rank": ("rank", False),
    "customers": ("customer_count", True),
    "companies": ("company_count", True),
    "arr": ("arr", True),
    "evidence": ("evidence_count", True),
    "created": ("created_at", True),
    "updated": ("updated_at", True),
}

ROW_VALUES = (
    "id",
    "title",
    "kind",
    "status",
    "declined_reason",
    "owner_id",
    "owner__email",
    "area_id",
    "area__name",
    "parent_id",
    "effort",
    "rank",
    "version",
    "evidence_count",
    "customer_count",
    "company_count",
    "arr",
    "critical_count",
    "important_count",
    "demand_by_segment",
    "created_at",
    "updated_at",
)


class BadCursor(ApplicationError):
    """A cursor this list did not hand out (or for another sort)."""


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


def item_list(*, workspace: Workspace, filters: ItemFilters | None = None) -> QuerySet[Item]:
    """The workspace's items (merged ones left out), narrowed by `filters`."""
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
    if filters.query:
        qs = qs.filter(
            search_vector=SearchQuery(filters.query, search_type="websearch", config="english")
        )
    return qs


def _encode(sort: str, value: Any, item_id: int) -> str:
    raw = orjson.dumps([sort, str(value) if not isinstance(value, int) else value, item_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, int]:
    column, _ = SORTS[sort]
    try:
        name, value, item_id = orjson.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        if name != sort or not isinstance(item_id, int):
            raise ValueError
        if column in ("created_at", "updated_at"):
            value = datetime.fromisoformat(value)
        elif column == "arr":
            value = Decimal(value)
        elif column == "rank":
            value = str(value)
        elif not isinstance(value, int):
            raise ValueError
    except (ValueError, TypeError, InvalidOperation, orjson.JSONDecodeError) as exc:
        raise BadCursor(
            "This cursor is not valid for this list; start from the first page."
        ) from exc
    return value, item_id


def item_page(
    *,
    workspace: Workspace,
    filters: ItemFilters | None = None,
    sort: str = "rank",
    cursor: str = "",
    size: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows (dicts of ROW_VALUES plus "tags") and the cursor of the next page."""
    column, descending = SORTS[sort]
    qs = item_list(workspace=workspace, filters=filters)
    if cursor:
        value, item_id = _decode(cursor, sort)
        if descending:
            qs = qs.filter(Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": item_id}))
        else:
            qs = qs.filter(Q(**{f"{column}__gt": value}) | Q(**{column: value, "id__gt": item_id}))
    order = (f"-{column}", "-id") if descending else (column, "id")
    rows = list(qs.order_by(*order).values(*ROW_VALUES)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    tags = item_tags(workspace=workspace, item_ids=[row["id"] for row in rows])
    for row in rows:
        row["tags"] = tags.get(row["id"], [])
    next_cursor = _encode(sort, rows[-1][column], rows[-1]["id"]) if more and rows else None
    return rows, next_cursor


def item_tags(*, workspace: Workspace, item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The tags of each item, by name, in one query."""
    tags: dict[int, list[dict[str, Any]]] = {}
    if not item_ids:
        return tags
    for item_id, tag_id, name, color in (
        ItemTag.objects.for_workspace(workspace)
        .filter(item_id__in=item_ids)
        .order_by("tag__name", "tag_id")
        .values_list("item_id", "tag_id", "tag__name", "tag__color")
    ):
        tags.setdefault(item_id, []).append({"id": tag_id, "name": name, "color": color})
    return tags
