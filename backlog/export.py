"""The item list as CSV: any filter and sort of the API list, streamed a row at a time.

Rows come from a server-side cursor (`iterator(chunk_size=...)`) and are written as they are
read, so a 100,000-item backlog never sits in memory. Lines are written by pmhub.core.csv_safe,
so a text cell a spreadsheet could run as a formula is neutralised (OWASP "CSV injection").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import OuterRef, Subquery

from backlog.listing import ItemFilters, item_sorted, score_formula
from backlog.models import ItemScore, ScoringFormula
from pmhub.core import csv_safe
from pmhub.workspaces.models import Workspace

# Rows fetched per round trip of the server-side cursor: large enough that the round trips do not
# dominate, small enough that one chunk of wide rows stays a few megabytes.
CHUNK = 2000
HEADER = ("id", "title", "kind", "status", "area", "owner", "customers", "companies", "ARR")


class _Echo:
    """A file whose write returns the line, so csv.writer yields instead of buffering."""

    def write(self, value: str) -> str:
        return value


def item_csv_lines(
    *, workspace: Workspace, filters: ItemFilters | None, sort: str, item_url: str
) -> Iterator[str]:
    """The header and one CSV line per item, in the list's order. `item_url` holds `{id}`.

    Scores come as one column per formula (by position), each a subquery on the unique
    (item, formula) index, so the export is one query however many formulas there are.
    """
    formula = score_formula(workspace=workspace, sort=sort)  # an unknown one is refused
    qs = item_sorted(
        workspace=workspace, filters=filters, sort=sort, formula_id=formula and formula.id
    )
    formulas = list(
        ScoringFormula.objects.for_workspace(workspace)
        .order_by("position", "id")
        .values_list("id", "name")
    )
    scores = {
        f"score_{formula_id}": Subquery(
            ItemScore.objects.for_workspace(workspace)
            .filter(item_id=OuterRef("id"), formula_id=formula_id)
            .values("value")[:1]
        )
        for formula_id, _ in formulas
    }
    rows = qs.annotate(**scores).values_list(
        "id",
        "title",
        "kind",
        "status",
        "area__name",
        "owner__email",
        "customer_count",
        "company_count",
        "arr",
        "evidence_count",
        *scores,
    )
    writer = csv_safe.writer(_Echo())
    yield writer.writerow([*HEADER, "evidence", *(f"score: {name}" for _, name in formulas), "URL"])
    for row in rows.iterator(chunk_size=CHUNK):
        yield writer.writerow(_cells(row, item_url))


def _cells(row: tuple[Any, ...], item_url: str) -> list[Any]:
    item_id, title, kind, status, area, owner, *numbers = row
    # Numbers stay numbers (int, float, Decimal), which the writer leaves as they are: "-2.5"
    # is a negative score, not a formula.
    return [
        item_id,
        title,
        kind,
        status,
        area or "",
        owner or "",
        *("" if value is None else value for value in numbers),
        item_url.format(id=item_id),
    ]
