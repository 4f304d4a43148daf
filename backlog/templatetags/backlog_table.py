"""The backlog table's rows, built in Python like the Django admin's change list rows.

A page holds 50 rows of 15 cells; through the template engine (an include per row, a lookup and
an escape per variable) they cost ~25 ms, four times the rows' database work. Even format_html
cost ~8 ms a page: its escape goes through keep_lazy's checks for every argument, a thousand
times a page. So a row is one string built from values each passed through `html_text` (the same
escaping as conditional_escape, without the lazy-object checks) and marked safe once.
Editors get cells marked data-cell (backlog.js edits them in place and swaps in the row the
server sends back); everyone else reads plain cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString, mark_safe

from backlog.templatetags.backlog_format import compact_money
from pmhub.core.html import html_text

register = template.Library()

DASH = '<span class="subtle">—</span>'
UNKNOWN_SCORE = '<span class="subtle" title="Unknown: open the item to see why">—</span>'
GRIP = '<span class="grip" title="Drag to rank">⋮⋮</span>'


def _plural(count: int, one: str = "", many: str = "s") -> str:
    return one if count == 1 else many


def _edit_attrs(editable: bool, cell: str, editor: str, value: Any) -> str:
    if not editable:
        return ""
    return f' data-cell="{html_text(cell)}" data-editor="{editor}" data-value="{html_text(value)}"'


def _score(value: float | None) -> str:
    if value is None:
        return UNKNOWN_SCORE
    # As floatformat:"-2": two decimals unless the value is whole.
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def _input_cell(index: int, cell: dict[str, Any], editable: bool) -> str:
    column = cell["column"]
    classes = "num backlog__input" + (" backlog__input--first" if index == 0 else "")
    editor = f"input-{index}" if column.choices else "number"
    if cell["shown"]:
        shown = html_text(cell["shown"])
    elif cell["fallback"]:
        shown = (
            '<span class="subtle" title="Not set: RICE uses the item\'s effort">'
            f"{html_text(cell['fallback'])}</span>"
        )
    else:
        shown = DASH
    return (
        f'<td class="{classes}"{_edit_attrs(editable, column.key, editor, cell["value"])}>'
        f"{shown}</td>"
    )


def table_row_html(
    row: dict[str, Any], *, can_edit_cells: bool, can_rank: bool, has_score: bool
) -> SafeString:
    """One row of the table (see backlog.views.table._row_decorate for what `row` holds)."""
    urls = row["urls"]
    edit = can_edit_cells
    detail = html_text(urls["detail"])
    attrs = f' data-id="{html_text(row["id"])}" data-href="{detail}"'
    if edit:
        attrs += (
            f' data-version="{html_text(row["version"])}" data-cell-url="{html_text(urls["cell"])}"'
        )
    if can_rank:
        attrs += f' data-move-url="{html_text(urls["move"])}" draggable="true"'
    critical = row["critical_count"]
    badge = (
        f' <span class="badge badge--danger" title="{html_text(critical)}'
        f' customer{_plural(critical)} call this critical">{html_text(critical)} critical</span>'
        if critical
        else ""
    )
    owner = (
        f'<span class="avatar-name">{html_text(row["owner_name"])}</span>'
        if row["owner_id"]
        else "—"
    )
    customers, companies = html_text(row["customer_count"]), html_text(row["company_count"])
    evidence = row["evidence_count"]
    demand_title = (
        f"{customers} customer{_plural(row['customer_count'])} at {companies}"
        f" compan{_plural(row['company_count'], 'y', 'ies')};"
        f" {html_text(evidence)} piece{_plural(evidence)} of evidence"
    )
    company_note = (
        f'<span class="backlog__companies"> · {companies}</span>' if row["company_count"] else ""
    )
    inputs = "".join(_input_cell(i, cell, edit) for i, cell in enumerate(row["cells"]))
    score = (
        f'<td class="num backlog__score" data-score>{_score(row["score"])}</td>'
        if has_score
        else ""
    )
    area_id, owner_id = row["area_id"], row["owner_id"]
    status = html_text(row["status"])
    return mark_safe(  # noqa: S308 - every value above went through html_text
        f'<tr class="backlog__row" data-row{attrs} tabindex="-1">'
        f'<td class="backlog__grip" aria-hidden="true">{GRIP if can_rank else ""}</td>'
        f'<td class="backlog__title"><a href="{detail}" draggable="false">'
        f"{html_text(row['title'])}</a>{badge}</td>"
        f'<td class="shrink"><span class="kind kind--{html_text(row["kind"])}">'
        f"{html_text(row['kind_label'])}</span></td>"
        f'<td class="shrink"{_edit_attrs(edit, "status", "status", row["status"])}>'
        f'<span class="badge badge--dot item-status item-status--{status}">'
        f"{html_text(row['status_label'])}</span></td>"
        f'<td class="shrink muted backlog__clip"'
        f"{_edit_attrs(edit, 'area', 'area', area_id if area_id is not None else '')}>"
        f"{html_text(row['area__name'] or '—')}</td>"
        f'<td class="shrink muted backlog__clip"'
        f"{_edit_attrs(edit, 'owner', 'owner', owner_id if owner_id is not None else '')}>"
        f"{owner}</td>"
        f'<td class="num"{_edit_attrs(edit, "effort", "number", row["effort"])}>'
        f"{html_text(row['effort'] or '—')}</td>"
        f'<td class="num" title="{demand_title}">{customers}{company_note}</td>'
        f'<td class="num" title="${row["arr"]:,.0f}">{html_text(compact_money(row["arr"]))}</td>'
        f"{inputs}{score}</tr>"
    )


@register.simple_tag(takes_context=True)
def table_rows(context: template.Context, rows: list[dict[str, Any]]) -> SafeString:
    """The page's rows, in one tag rather than a loop of tags."""
    options = {
        "can_edit_cells": bool(context.get("can_edit_cells")),
        "can_rank": bool(context.get("can_rank")),
        "has_score": context.get("primary") is not None,
    }
    return mark_safe("".join(table_row_html(row, **options) for row in rows))  # noqa: S308 - safe rows


@register.simple_tag
def filter_field(field: BoundField, **kwargs: str) -> SafeString:
    """`{% filter_field form.kind class="..." %}`: one filter of the table's bar, drawn as
    discovery/_inbox_filter.html draws it, without an include (and its context) per field."""
    classes = "field" + (f" {kwargs['class']}" if kwargs.get("class") else "")
    return mark_safe(  # noqa: S308 - every value went through html_text
        f'<div class="{html_text(classes)}">\n'
        f'  <label class="field__label" for="{html_text(field.id_for_label)}">'
        f"{html_text(field.label)}</label>\n"
        f"  {html_text(field)}\n"
        f"  {html_text(field.errors)}\n"
        "</div>"
    )


@register.simple_tag
def option_list(choices: Iterable[tuple[Any, Any]]) -> SafeString:
    """The `<option>`s of (value, label) pairs, for the cell editors' lists."""
    return mark_safe(  # noqa: S308 - every value went through html_text
        "".join(
            f'<option value="{html_text(value)}">{html_text(label)}</option>'
            for value, label in choices
        )
    )
