"""The item list as the API and the CSV export read it: sorts (score sorts included) and
keyset pages of plain rows over selectors.item_list, whose filters the table shares.

Pages are keyset-paginated on (sort column, id), so a page deep in the list costs what the first
one costs, and the number of SQL statements per page is fixed (rows, their tags, their scores;
plus the formula for a score sort). `score` sorts by the primary formula, `score:<id>` by one
formula: (value DESC NULLS LAST, id DESC), joined from ItemScore.
"""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet

from backlog.models import Item, ItemScore, ItemTag, ScoringFormula
from backlog.score_key import NO_SCORE, score_sort_key
from backlog.selectors import ITEM_SORTS as SORTS
from backlog.selectors import ItemFilters, item_list
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import Workspace

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


def item_merged_target(workspace: Workspace, item_id: int) -> int | None:
    """The live item a merged item became, or None (not merged, or unknown here).

    item_merge keeps merged_into pointing at a live item, so this is one query, one hop."""
    return (
        Item.objects.for_workspace(workspace)
        .filter(id=item_id, merged_into__isnull=False)
        .values_list("merged_into_id", flat=True)
        .first()
    )


def score_formula(*, workspace: Workspace, sort: str) -> ScoringFormula | None:
    """The formula a `score` / `score:<id>` sort names (None for the other sorts); an unknown
    id, or no primary formula, is a ValidationError on `sort`."""
    if sort != "score" and not sort.startswith("score:"):
        return None
    formulas = ScoringFormula.objects.for_workspace(workspace)
    if sort == "score":
        formula = formulas.filter(is_primary=True).first()
    else:
        formula_id = sort.removeprefix("score:")
        formula = formulas.filter(id=int(formula_id)).first() if formula_id.isdigit() else None
    if formula is None:
        raise ValidationError({"sort": f"Unknown scoring formula in {sort!r}."})
    return formula


def is_sort(sort: str) -> bool:
    """Whether `sort` names a sort (its formula, if any, is checked against the workspace later)."""
    return (
        sort in SORTS
        or sort == "score"
        or (sort.startswith("score:") and sort.removeprefix("score:").isdigit())
    )


def item_sorted(
    *, workspace: Workspace, filters: ItemFilters | None = None, sort: str = "rank"
) -> tuple[QuerySet[Item], ScoringFormula | None]:
    """The filtered items in the sort's order (id last), and the formula of a score sort.

    A score sort joins the formula's ItemScore rows (every live item has one per formula: see
    scoring) and orders by `score_key`, the value with unknown as -Infinity, highest first, then
    id: the order of the item_score_sort index, so a page is one index range scan from the top
    or from its cursor."""
    qs = item_list(workspace=workspace, filters=filters)
    formula = score_formula(workspace=workspace, sort=sort)
    if formula is not None:
        qs = (
            qs.filter(scores__workspace=workspace, scores__formula_id=formula.id)
            .annotate(score_value=F("scores__value"), score_key=score_sort_key("scores__value"))
            .order_by(F("score_key").desc(), "id")
        )
        return qs, formula
    column, descending = SORTS[sort]
    return qs.order_by(*((f"-{column}", "-id") if descending else (column, "id"))), None


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


def _score_page(
    qs: QuerySet[Item], name: str, cursor: str, size: int
) -> tuple[list[dict[str, Any]], str | None]:
    if cursor:
        try:
            sort, value, item_id = orjson.loads(
                base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            )
            if sort != name or not isinstance(item_id, int) or isinstance(value, bool):
                raise ValueError
            if value is not None and not isinstance(value, int | float):
                raise ValueError
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            raise BadCursor(
                "This cursor is not valid for this list; start from the first page."
            ) from exc
        key = NO_SCORE if value is None else float(value)
        # `key <= value` is the index range that starts at the cursor; the rest only skips the
        # ties already shown.
        qs = qs.filter(Q(score_key__lt=key) | Q(score_key=key, id__gt=item_id), score_key__lte=key)
    rows = list(qs.values(*ROW_VALUES, "score_value")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more and rows:
        raw = orjson.dumps([name, rows[-1]["score_value"], rows[-1]["id"]])
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for row in rows:
        del row["score_value"]
    return rows, next_cursor


def item_page(
    *,
    workspace: Workspace,
    filters: ItemFilters | None = None,
    sort: str = "rank",
    cursor: str = "",
    size: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows (dicts of ROW_VALUES plus "tags" and "scores") and the cursor of the
    next page."""
    qs, formula = item_sorted(workspace=workspace, filters=filters, sort=sort)
    if formula is not None:
        # The cursor names the formula, so a walk begun on `score` stops if the primary changes.
        rows, next_cursor = _score_page(qs, f"score:{formula.id}", cursor, size)
    else:
        column, descending = SORTS[sort]
        if cursor:
            value, item_id = _decode(cursor, sort)
            if descending:
                qs = qs.filter(
                    Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": item_id})
                )
            else:
                qs = qs.filter(
                    Q(**{f"{column}__gt": value}) | Q(**{column: value, "id__gt": item_id})
                )
        rows = list(qs.values(*ROW_VALUES)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = _encode(sort, rows[-1][column], rows[-1]["id"]) if more and rows else None
    ids = [row["id"] for row in rows]
    tags = item_tags(workspace=workspace, item_ids=ids)
    scores = item_scores(workspace=workspace, item_ids=ids)
    for row in rows:
        row["tags"] = tags.get(row["id"], [])
        row["scores"] = scores.get(row["id"], {})
    return rows, next_cursor


def item_scores(*, workspace: Workspace, item_ids: list[int]) -> dict[int, dict[str, float | None]]:
    """Each item's stored scores, {"<formula_id>": value}, in one query."""
    scores: dict[int, dict[str, float | None]] = {}
    if not item_ids:
        return scores
    for item_id, formula_id, value in (
        ItemScore.objects.for_workspace(workspace)
        .filter(item_id__in=item_ids)
        .order_by("formula_id")
        .values_list("item_id", "formula_id", "value")
    ):
        scores.setdefault(item_id, {})[str(formula_id)] = value
    return scores


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
