"""The backlog table's rows, built in Python like the Django admin's change list rows.

A page holds 50 rows of 15 cells; through the template engine (an include per row, a lookup and
an escape per variable) they cost ~25 ms, four times the rows' database work, while format_html
builds the same markup in a few milliseconds. Every value goes through format_html's escaping.
Editors get cells marked data-cell (backlog.js edits them in place and swaps in the row the
server sends back); everyone else reads plain cells.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from backlog.templatetags.backlog_format import compact_money

register = template.Library()

DASH = mark_safe('<span class="subtle">—</span>')  # noqa: S308 - a constant


def _plural(count: int, one: str = "", many: str = "s") -> str:
    return one if count == 1 else many


def _edit_attrs(editable: bool, cell: str, editor: str, value: Any) -> SafeString:
    if not editable:
        return mark_safe("")  # noqa: S308 - a constant
    return format_html(' data-cell="{}" data-editor="{}" data-value="{}"', cell, editor, value)


def _score(value: float | None) -> SafeString | str:
    if value is None:
        return mark_safe(  # noqa: S308 - a constant
            '<span class="subtle" title="Unknown: open the item to see why">—</span>'
        )
    # As floatformat:"-2": two decimals unless the value is whole.
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def _input_cell(index: int, cell: dict[str, Any], editable: bool) -> SafeString:
    column = cell["column"]
    classes = "num backlog__input" + (" backlog__input--first" if index == 0 else "")
    editor = f"input-{index}" if column.choices else "number"
    if cell["shown"]:
        shown: Any = cell["shown"]
    elif cell["fallback"]:
        shown = format_html(
            '<span class="subtle" title="Not set: RICE uses the item\'s effort">{}</span>',
            cell["fallback"],
        )
    else:
        shown = DASH
    return format_html(
        '<td class="{}"{}>{}</td>',
        classes,
        _edit_attrs(editable, column.key, editor, cell["value"]),
        shown,
    )


def table_row_html(
    row: dict[str, Any], *, can_edit_cells: bool, can_rank: bool, has_score: bool
) -> SafeString:
    """One row of the table (see backlog.views.table._row_decorate for what `row` holds)."""
    urls = row["urls"]
    edit = can_edit_cells
    attrs = format_html(' data-id="{}" data-href="{}"', row["id"], urls["detail"])
    if edit:
        attrs += format_html(' data-version="{}" data-cell-url="{}"', row["version"], urls["cell"])
    if can_rank:
        attrs += format_html(' data-move-url="{}" draggable="true"', urls["move"])
    grip = (
        mark_safe('<span class="grip" title="Drag to rank">⋮⋮</span>')  # noqa: S308 - a constant
        if can_rank
        else ""
    )
    critical = row["critical_count"]
    badge = (
        format_html(
            ' <span class="badge badge--danger" title="{} customer{} call this critical">'
            "{} critical</span>",
            critical,
            _plural(critical),
            critical,
        )
        if critical
        else ""
    )
    owner = (
        format_html('<span class="avatar-name">{}</span>', row["owner_name"])
        if row["owner_id"]
        else "—"
    )
    customers, companies = row["customer_count"], row["company_count"]
    evidence = row["evidence_count"]
    demand_title = format_html(
        "{} customer{} at {} compan{}; {} piece{} of evidence",
        customers,
        _plural(customers),
        companies,
        _plural(companies, "y", "ies"),
        evidence,
        _plural(evidence),
    )
    company_note = (
        format_html('<span class="backlog__companies"> · {}</span>', companies) if companies else ""
    )
    inputs = format_html_join(
        "", "{}", ((_input_cell(i, cell, edit),) for i, cell in enumerate(row["cells"]))
    )
    score = (
        format_html('<td class="num backlog__score" data-score>{}</td>', _score(row["score"]))
        if has_score
        else ""
    )
    return format_html(
        '<tr class="backlog__row" data-row{} tabindex="-1">'
        '<td class="backlog__grip" aria-hidden="true">{}</td>'
        '<td class="backlog__title"><a href="{}" draggable="false">{}</a>{}</td>'
        '<td class="shrink"><span class="kind kind--{}">{}</span></td>'
        '<td class="shrink"{}><span class="badge badge--dot item-status item-status--{}">{}'
        "</span></td>"
        '<td class="shrink muted backlog__clip"{}>{}</td>'
        '<td class="shrink muted backlog__clip"{}>{}</td>'
        '<td class="num"{}>{}</td>'
        '<td class="num" title="{}">{}{}</td>'
        '<td class="num" title="${}">{}</td>'
        "{}{}</tr>",
        attrs,
        grip,
        urls["detail"],
        row["title"],
        badge,
        row["kind"],
        row["kind_label"],
        _edit_attrs(edit, "status", "status", row["status"]),
        row["status"],
        row["status_label"],
        _edit_attrs(edit, "area", "area", row["area_id"] if row["area_id"] is not None else ""),
        row["area__name"] or "—",
        _edit_attrs(edit, "owner", "owner", row["owner_id"] if row["owner_id"] is not None else ""),
        owner,
        _edit_attrs(edit, "effort", "number", row["effort"]),
        row["effort"] or "—",
        demand_title,
        customers,
        company_note,
        f"{row['arr']:,.0f}",
        compact_money(row["arr"]),
        inputs,
        score,
    )


@register.simple_tag(takes_context=True)
def table_row(context: template.Context, row: dict[str, Any]) -> SafeString:
    return table_row_html(
        row,
        can_edit_cells=bool(context.get("can_edit_cells")),
        can_rank=bool(context.get("can_rank")),
        has_score=context.get("primary") is not None,
    )
