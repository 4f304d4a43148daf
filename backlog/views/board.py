"""The backlog's board (a column per status; editors drag cards to change it) and its 2×2 matrix."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from backlog import board, selectors, services
from backlog.forms import ItemFilterForm, ItemStatusForm
from backlog.models import SavedView, ScoringFormula
from backlog.views.table import item_links, saved_views_context
from discovery import selectors as discovery_selectors
from pmhub.core.exceptions import ApplicationError
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role, role_allows
from pmhub.workspaces.selectors import membership_list

# The table's sort and cursor mean nothing to the other views; the filters carry over.
NOT_FILTERS = frozenset({"sort", "after"})


def _filter_form(request: HttpRequest, primary: ScoringFormula | None) -> ItemFilterForm:
    """The table's filters with the table's choices (areas, members, tags, segments): four
    queries; the score range is by the primary formula."""
    workspace = request.workspace
    return ItemFilterForm(
        request.GET or None,
        areas=list(selectors.product_area_list(workspace=workspace)),
        members=list(membership_list(workspace=workspace)),
        tags=list(discovery_selectors.tag_list(workspace=workspace)),
        segments=discovery_selectors.company_segments(workspace=workspace),
        formula=primary,
    )


def _filter_query(request: HttpRequest, form: ItemFilterForm, **extra: str) -> str:
    """The request's filters alone (no sort, cursor or axes), plus `extra`, as a query string."""
    query = QueryDict(mutable=True)
    for name in form.fields:
        if name not in NOT_FILTERS and request.GET.get(name):
            query.setlist(name, request.GET.getlist(name))
    for name, value in extra.items():
        query[name] = value
    return query.urlencode()


def _table_url(request: HttpRequest, form: ItemFilterForm, **extra: str) -> str:
    url = reverse("backlog:index", kwargs={"workspace_slug": request.workspace.slug})
    query = _filter_query(request, form, **extra)
    return f"{url}?{query}" if query else url


# --- the board -------------------------------------------------------------------------------
def _add_urls(rows: Iterable[dict[str, Any]], workspace_slug: str, **names: str) -> None:
    """Give each row (with an item `id`) a link per entry of `names`: key -> URL name."""
    links = item_links(workspace_slug, **names)
    for row in rows:
        row.update(links(row["id"]))


@workspace_view()
@require_GET
def board_page(request: HttpRequest) -> HttpResponse:
    """The board. Queries: the primary formula, areas, members, tags, segments (the filters'
    choices), then the cards of every column with the columns' counts in one statement."""
    workspace = request.workspace
    primary = selectors.primary_formula_get(workspace=workspace)
    form = _filter_form(request, primary)
    filters = form.filters()
    columns = board.board_columns(
        workspace=workspace, filters=filters, formula=primary, limit=board.BOARD_COLUMN_LIMIT
    )
    total = sum(column.count for column in columns)
    can_move = role_allows(request.membership.role, Role.EDITOR)
    links = {"detail_url": "backlog:item-detail"}
    if can_move:
        links["status_url"] = "backlog:board-status"
    _add_urls((card for column in columns for card in column.cards), workspace.slug, **links)
    context = {
        # First: the page's own `view_query` (its filters, without the table's sort) wins.
        **saved_views_context(request, layout=SavedView.Layout.BOARD),
        "form": form,
        "columns": [
            {"column": column, "table_url": _table_url(request, form, status=column.status)}
            for column in columns
        ],
        "total": total,
        "primary": primary,
        "has_filters": filters.active,
        "backlog_is_empty": total == 0 and not filters.active,
        "can_move": can_move,
        "current": "board",
        "view_query": _filter_query(request, form),
        "table_url": _table_url(request, form),
    }
    return render(request, "backlog/board.html", context)


class StatusMoveForm(ItemStatusForm):
    """A card dropped on another column: the status, a reason when declining, and the item's
    version as the board showed it."""

    version = forms.IntegerField(min_value=1)


def _move_answer(request: HttpRequest, http_status: int, message: str, **data: Any) -> HttpResponse:
    """JSON for the board's script; a plain form post goes back to the board with a toast."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"message": message, **data}, status=http_status)
    (messages.success if http_status == 200 else messages.error)(request, message)
    return redirect("backlog:board", workspace_slug=request.workspace.slug)


@workspace_view()
@require_POST
def item_status_move(request: HttpRequest, item_id: int) -> HttpResponse:
    """Change the item's status from the board, refused when the item changed since the board
    was drawn (its version), so a drag never undoes a change someone else just made."""
    workspace = request.workspace
    item = object_or_404(selectors.item_get, workspace=workspace, item_id=item_id)
    form = StatusMoveForm(request.POST)
    if not form.is_valid():
        return _move_answer(request, 400, "Choose a status column.")
    data = form.cleaned_data
    try:
        # item_set_status takes no version; the lock held across the check and the change
        # keeps another write from slipping in between.
        with transaction.atomic():
            version = board.item_version_for_update(workspace=workspace, item_id=item.id)
            if version is None:
                raise services.ItemGoneError("This item no longer exists.")
            if version != data["version"]:
                raise services.StaleItemError(
                    f"“{item.title}” changed since this board was loaded, so it was not moved. "
                    "Reload the board to see the change.",
                    extra={"version": version},
                )
            item = services.item_set_status(
                workspace=workspace,
                actor=request.user,
                item=item,
                status=data["status"],
                reason=data["reason"],
            )
    except services.ItemGoneError as exc:
        raise Http404(exc.message) from exc
    except services.StaleItemError as exc:
        return _move_answer(request, 409, exc.message, version=exc.extra["version"])
    except (ValidationError, ApplicationError) as exc:
        text = exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
        return _move_answer(request, 400, text)
    return _move_answer(
        request,
        200,
        f"“{item.title}” is now {item.get_status_display().lower()}.",
        version=item.version,
        status=item.status,
    )


# --- the matrix ------------------------------------------------------------------------------
class MatrixAxisForm(forms.Form):
    x = forms.ChoiceField(label="Across")
    y = forms.ChoiceField(label="Up")
    x_log = forms.BooleanField(label="Log scale", required=False)
    y_log = forms.BooleanField(label="Log scale", required=False)
    x_split = forms.FloatField(label="Split at", required=False)
    y_split = forms.FloatField(label="Split at", required=False)

    def __init__(self, *args: Any, axes: list[board.Axis], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[str, str]]] = {}
        for axis in axes:
            groups.setdefault(axis.group, []).append((axis.key, axis.label))
        for name in ("x", "y"):
            self.fields[name].choices = list(groups.items())
            self.fields[name].widget.attrs["data-autosubmit"] = ""
            self.fields[f"{name}_log"].widget.attrs["data-autosubmit-check"] = ""
            self.fields[f"{name}_split"].widget.attrs.update(
                {"placeholder": "median", "step": "any", "inputmode": "decimal"}
            )


def _axis_choice(
    request: HttpRequest, name: str, axes: dict[str, board.Axis], default: str
) -> tuple[board.Axis, str]:
    """The axis the request names, else the default with a note saying so."""
    raw = request.GET.get(name, "")
    if not raw or raw in axes:
        return axes[raw or default], ""
    return axes[default], (
        f"There is no “{raw[:60]}” to plot; showing {axes[default].label} instead."
    )


@workspace_view()
@require_GET
def matrix_page(request: HttpRequest) -> HttpResponse:
    """The 2×2 matrix. Queries: formulas, areas, members, tags, segments (the filters' choices),
    score fields (the axes), then the totals, the points and the first items left out."""
    workspace = request.workspace
    formulas = selectors.formula_list(workspace=workspace)
    primary = next((f for f in formulas if f.is_primary), None)
    form = _filter_form(request, primary)
    filters = form.filters()
    axes = board.matrix_axes(
        formulas=formulas, fields=selectors.score_field_list(workspace=workspace)
    )
    by_key = {axis.key: axis for axis in axes}
    x, x_note = _axis_choice(request, "x", by_key, "effort")
    y, y_note = _axis_choice(
        request, "y", by_key, f"score:{primary.id}" if primary else "customers"
    )
    parsed = MatrixAxisForm(request.GET, axes=axes)
    parsed.is_valid()
    options = {
        name: parsed.cleaned_data.get(name) for name in ("x_log", "y_log", "x_split", "y_split")
    }
    values = board.matrix_values(
        workspace=workspace,
        filters=filters,
        x=x,
        y=y,
        x_log=bool(options["x_log"]),
        y_log=bool(options["y_log"]),
        limit=board.MATRIX_POINT_LIMIT,
    )
    _add_urls([*values.points, *values.unplotted], workspace.slug, url="backlog:item-detail")
    chart = board.matrix_chart(
        points=values.points,
        x=x,
        y=y,
        x_log=bool(options["x_log"]),
        y_log=bool(options["y_log"]),
        x_split=options["x_split"],
        y_split=options["y_split"],
    )
    axis_form = MatrixAxisForm(initial={"x": x.key, "y": y.key, **options}, axes=axes)
    context = {
        **saved_views_context(request, layout=SavedView.Layout.MATRIX),
        "form": form,
        "axis_form": axis_form,
        "x": x,
        "y": y,
        "values": values,
        "chart": chart,
        "notes": [note for note in (x_note, y_note) if note],
        "has_filters": filters.active,
        "limit": board.MATRIX_POINT_LIMIT,
        "current": "matrix",
        "view_query": _filter_query(request, form),
        "table_url": _table_url(request, form),
    }
    return render(request, "backlog/matrix.html", context)


urlpatterns = [
    path("board/", board_page, name="board"),
    path("board/items/<int:item_id>/status/", item_status_move, name="board-status"),
    path("matrix/", matrix_page, name="matrix"),
]
