"""The item list as the API and the CSV export read it: sorts (score sorts included) and
keyset pages of plain rows over selectors.item_list, whose filters the table shares.

Pages are keyset-paginated on (sort column, id), so a page deep in the list costs what the first
one costs, and the number of SQL statements per page is fixed (rows, their tags, their scores;
plus the formula for a score sort). `score` sorts by the primary formula, `score:<id>` by one
formula: (value DESC NULLS LAST, id DESC), joined from ItemScore.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, Q, QuerySet, Subquery, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from backlog.models import Item, ItemScore, ItemTag, ScoringFormula
from backlog.score_key import NO_SCORE, score_sort_key
from backlog.selectors import ITEM_SORTS as SORTS
from backlog.selectors import ItemFilters, item_list
from discovery.models import Tag
from pmhub.core.db import (
    CompiledStatements,
    Statement,
    compile_statement,
    queryset_statement,
    statement_rows,
)
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
    "owner__name",
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


def is_score_sort(sort: str) -> bool:
    return sort == "score" or sort.startswith("score:")


def item_sorted(
    *,
    workspace: Workspace,
    filters: ItemFilters | None = None,
    sort: str = "rank",
    formula_id: int | None = None,
) -> QuerySet[Item]:
    """The filtered items in the sort's order (id last).

    A score sort joins one formula's ItemScore rows (every live item has one per formula: see
    scoring) and orders by `score_key`, the value with unknown as -Infinity, highest first, then
    id: the order of the item_score_sort index, so a page is one index range scan from the top
    or from its cursor. The formula is `formula_id`, else the one `score:<id>` names, else the
    primary, found by the same statement (an InitPlan the index scan takes as its bound). An
    unknown formula lists nothing; score_formula() says why."""
    qs = item_list(workspace=workspace, filters=filters)
    if is_score_sort(sort):
        if formula_id is None and sort.removeprefix("score:").isdigit():
            formula_id = int(sort.removeprefix("score:"))
        formula: Any = formula_id
        if formula is None:
            formula = Subquery(
                ScoringFormula.objects.for_workspace(workspace)
                .filter(is_primary=True)
                .values("id")[:1]
            )
        return (
            qs.filter(scores__workspace=workspace, scores__formula_id=formula)
            .annotate(
                score_value=F("scores__value"),
                score_key=score_sort_key("scores__value"),
                score_formula=F("scores__formula_id"),
            )
            .order_by(F("score_key").desc(), "id")
        )
    column, descending = SORTS[sort]
    return qs.order_by(*((f"-{column}", "-id") if descending else (column, "id")))


BAD_CURSOR = "This cursor is not valid for this list; start from the first page."


def _pack(name: str, value: Any, item_id: int) -> str:
    """A cursor: the sort's name, the last row's sort value and id, as URL-safe base64 JSON."""
    raw = orjson.dumps([name, value, item_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpack(cursor: str) -> tuple[Any, Any, int]:
    """What _pack wrote; BadCursor for anything else."""
    try:
        name, value, item_id = orjson.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise BadCursor(BAD_CURSOR) from exc
    if not isinstance(name, str) or not isinstance(item_id, int) or isinstance(item_id, bool):
        raise BadCursor(BAD_CURSOR)
    return name, value, item_id


def _encode(sort: str, value: Any, item_id: int) -> str:
    return _pack(sort, str(value) if not isinstance(value, int) else value, item_id)


def _decode(cursor: str, sort: str) -> tuple[Any, int]:
    column, _ = SORTS[sort]
    name, value, item_id = _unpack(cursor)
    try:
        if name != sort:
            raise ValueError
        if column in ("created_at", "updated_at"):
            value = datetime.fromisoformat(value)
        elif column == "arr":
            value = Decimal(value)
        elif column == "rank":
            value = str(value)
        elif not isinstance(value, int):
            raise ValueError
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise BadCursor(BAD_CURSOR) from exc
    return value, item_id


def _score_cursor(cursor: str) -> tuple[str, float | None, int]:
    name, value, item_id = _unpack(cursor)
    if isinstance(value, bool) or (value is not None and not isinstance(value, int | float)):
        raise BadCursor(BAD_CURSOR)
    return name, value, item_id


def _score_page(
    workspace: Workspace,
    filters: ItemFilters | None,
    sort: str,
    cursor: str,
    size: int,
    with_inputs: bool,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a score sort, in one statement. A later page walks the formula its cursor
    names; for `score`, only while that formula is still the primary (a walk begun on `score`
    stops if the primary changes), which the statement checks too."""
    formula_id = None
    if cursor:
        name, value, item_id = _score_cursor(cursor)
        named = name.removeprefix("score:")
        if not name.startswith("score:") or not named.isdigit() or sort not in ("score", name):
            raise BadCursor(BAD_CURSOR)
        formula_id = int(named)
    bound: dict[str, Any] = {"workspace_id": workspace.id}
    if formula_id is not None:
        bound["formula_id"] = formula_id
    if cursor:
        bound["key"] = NO_SCORE if value is None else float(value)
        bound["item_id"] = item_id

    def build(values: dict[str, Any]) -> QuerySet[Item, dict[str, Any]]:
        scope = _workspace_of(values["workspace_id"])
        qs = _row_annotated(
            item_sorted(
                workspace=scope, filters=filters, sort=sort, formula_id=values.get("formula_id")
            ),
            scope,
            with_inputs,
        )
        if cursor:
            if sort == "score":
                still_primary = ScoringFormula.objects.for_workspace(scope).filter(
                    id=values["formula_id"], is_primary=True
                )
                qs = qs.filter(Exists(still_primary))
            key, after = values["key"], values["item_id"]
            # `key <= value` is the index range that starts at the cursor; the rest only skips
            # the ties already shown.
            qs = qs.filter(
                Q(score_key__lt=key) | Q(score_key=key, id__gt=after), score_key__lte=key
            )
        extra = (*_ANNOTATED, *(("inputs_json",) if with_inputs else ()))
        return qs.values(*ROW_VALUES, *extra, "score_value", "score_formula")[: size + 1]

    shape = ("score", filters, sort, bool(cursor), formula_id is None, size, with_inputs)
    rows = _page_rows(shape, build, bound)
    if not rows:
        # The end of the list, or a formula unknown here (an error, not []), or a walk whose
        # formula is no longer the primary.
        formula = score_formula(workspace=workspace, sort=sort)
        if cursor and formula is not None and formula.id != formula_id:
            raise BadCursor(BAD_CURSOR)
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = _pack(f"score:{last['score_formula']}", last["score_value"], last["id"])
    for row in rows:
        del row["score_value"], row["score_formula"]
    return rows, next_cursor


def item_page(
    *,
    workspace: Workspace,
    filters: ItemFilters | None = None,
    sort: str = "rank",
    cursor: str = "",
    size: int = 50,
    with_inputs: bool = False,
    json_passed_through: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows (dicts of ROW_VALUES plus "tags" and "scores", and "inputs" when asked)
    and the cursor of the next page: one statement whatever the page size.

    `json_passed_through`: the JSON columns come as orjson Fragments, for a caller that only
    encodes them again (the API) and need not parse what the database wrote as JSON."""
    if is_score_sort(sort):
        rows, next_cursor = _score_page(workspace, filters, sort, cursor, size, with_inputs)
    else:
        column, descending = SORTS[sort]
        bound = {"workspace_id": workspace.id}
        if cursor:
            bound["value"], bound["item_id"] = _decode(cursor, sort)

        def build(values: dict[str, Any]) -> QuerySet[Item, dict[str, Any]]:
            scope = _workspace_of(values["workspace_id"])
            qs = _row_annotated(
                item_sorted(workspace=scope, filters=filters, sort=sort), scope, with_inputs
            )
            if cursor:
                value, after = values["value"], values["item_id"]
                if descending:
                    qs = qs.filter(
                        Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": after})
                    )
                else:
                    qs = qs.filter(
                        Q(**{f"{column}__gt": value}) | Q(**{column: value, "id__gt": after})
                    )
            extra = (*_ANNOTATED, *(("inputs_json",) if with_inputs else ()))
            return qs.values(*ROW_VALUES, *extra)[: size + 1]

        rows = _page_rows(("plain", filters, sort, bool(cursor), size, with_inputs), build, bound)
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = _encode(sort, rows[-1][column], rows[-1]["id"]) if more and rows else None
    read = orjson.Fragment if json_passed_through else orjson.loads
    return [_row_named(row, read) for row in rows], next_cursor


def item_row(
    *, workspace: Workspace, item_id: int, with_inputs: bool = False, fields: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One live item as a row of item_page (plus `fields`, e.g. "description"), in one query;
    raises Item.DoesNotExist otherwise."""
    qs = _row_annotated(item_list(workspace=workspace).filter(id=item_id), workspace, with_inputs)
    extra = (*_ANNOTATED, *(("inputs_json",) if with_inputs else ()), *fields)
    return _row_named(qs.values(*ROW_VALUES, *extra).get())


# JSON columns are read as text and parsed with orjson: Django's JSONField parses each value
# with a decoder built per call, which for a page of 100 rows of three or four documents each
# cost more than fetching them. (`tags` is also the model's own many-to-many, hence new names.)
_ANNOTATED = ("tag_list", "score_map", "demand_json")
_JSON_NAMES = {"tag_list": "tags", "score_map": "scores", "demand_json": "demand_by_segment"}


def _row_annotated(qs: QuerySet[Item], workspace: Workspace, with_inputs: bool) -> QuerySet[Item]:
    qs = qs.annotate(
        tag_list=_tags_of(workspace),
        score_map=_scores_of(workspace),
        demand_json=Cast("demand_by_segment", TextField()),
    )
    if with_inputs:
        qs = qs.annotate(inputs_json=Cast("score_inputs__values", TextField()))
    return qs


def _row_named(row: dict[str, Any], read: Callable[[str], Any] = orjson.loads) -> dict[str, Any]:
    """The row's JSON columns under their names, each through `read`: parsed, or kept as
    orjson Fragments for a caller that only encodes them again."""
    for text_name, name in _JSON_NAMES.items():
        row[name] = read(row.pop(text_name))
    if "inputs_json" in row:
        text = row.pop("inputs_json")
        row["inputs"] = read(text) if text is not None else None
    return row


# An item's tags as a JSON array by name, and its stored scores as {"<formula id>": value}:
# subqueries the database runs for the page's rows only (after the LIMIT), so a page is one
# statement. Plain SQL because composing them through the ORM cost more per request (~3 ms)
# than running them; the text is constant and only the workspace id is a parameter.
_TAGS_SQL = f"""COALESCE((
    SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color)
                     ORDER BY t.name, t.id)
    FROM {ItemTag._meta.db_table} it JOIN {Tag._meta.db_table} t ON t.id = it.tag_id
    WHERE it.workspace_id = %s AND t.workspace_id = it.workspace_id
      AND it.item_id = {Item._meta.db_table}.id
), '[]'::jsonb)::text"""  # noqa: S608 - table names come from the models
_SCORES_SQL = f"""COALESCE((
    SELECT jsonb_object_agg(s.formula_id::text, s.value)
    FROM {ItemScore._meta.db_table} s
    WHERE s.workspace_id = %s AND s.item_id = {Item._meta.db_table}.id
), '{{}}'::jsonb)::text"""  # noqa: S608 - table names come from the models


def _tags_of(workspace: Workspace) -> RawSQL:
    return RawSQL(_TAGS_SQL, [workspace.id], output_field=TextField())  # noqa: S611


def _scores_of(workspace: Workspace) -> RawSQL:
    return RawSQL(_SCORES_SQL, [workspace.id], output_field=TextField())  # noqa: S611


# --- statements compiled once per shape -------------------------------------------------------
# Building and compiling a page's queryset cost more per request than PostgreSQL takes to run it
# (~1.5 ms of ~6). A page's SQL depends only on its shape (filters, sort, whether a cursor is
# given, size); the workspace and the cursor's values are its only parameters. So each shape is
# compiled once, with stand-in values in those places, and later pages bind the real ones.
_STATEMENTS = CompiledStatements(kept=512)


def _page_rows(
    shape: tuple[Any, ...],
    build: Callable[[dict[str, Any]], QuerySet[Item, dict[str, Any]]],
    values: dict[str, Any],
) -> list[dict[str, Any]]:
    """The rows of `build(values)`, a values() queryset, through its shape's compiled statement
    (compiled on the shape's first page; the ORM itself where a shape cannot be)."""
    statement = _STATEMENTS.get(shape, lambda: _compile(build, values))
    if statement is None:
        return list(build(values))
    names = statement.names
    return [dict(zip(names, row, strict=True)) for row in statement_rows(statement, values)]


def _compile(
    build: Callable[[dict[str, Any]], QuerySet[Item, dict[str, Any]]], values: dict[str, Any]
) -> Statement | None:
    return compile_statement(lambda stand_ins: queryset_statement(build(stand_ins)), values)


def _workspace_of(workspace_id: int) -> Workspace:
    """A workspace as the page's queries need it: its id (which may be a stand-in)."""
    return Workspace(id=workspace_id)
