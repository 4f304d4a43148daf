"""The backlog table: filters, sorts, keyset pages, cells edited in place, saved views, a new
item, and moves in the manual order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backlog import listing, saved_views, selectors, services, table
from backlog.forms import (
    ItemCellForm,
    ItemCreateForm,
    ItemFilterForm,
    ItemMoveForm,
    SavedViewCreateForm,
    SavedViewRenameForm,
    SavedViewUpdateForm,
)
from backlog.models import Item, ProductArea, SavedView, ScoringFormula
from backlog.table import InputColumn
from backlog.templatetags.backlog_table import table_row_html
from discovery import selectors as discovery_selectors
from pmhub.core.db import querysets_read_together
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.models import Membership
from pmhub.workspaces.roles import Role, role_allows
from pmhub.workspaces.selectors import membership_list, membership_query_for_user

PAGE_SIZE = 50
# The page each layout of a saved view opens; board and matrix arrive with their pages.
LAYOUT_URL_NAMES = {
    SavedView.Layout.TABLE: "backlog:index",
    SavedView.Layout.BOARD: "backlog:board",
    SavedView.Layout.MATRIX: "backlog:matrix",
}
# A row's labels, looked up per row without building an enum member for each.
STATUS_LABELS = dict(Item.Status.choices)
KIND_LABELS = dict(Item.Kind.choices)
# Parameters of a page that are not part of a view: its cursor and the open view itself.
NOT_VIEW_PARAMS = ("after", "view")


def item_url(workspace_slug: str, item_id: int) -> str:
    return reverse(
        "backlog:item-detail", kwargs={"workspace_slug": workspace_slug, "item_id": item_id}
    )


# An id no item has, reversed once per page: each row's links are this text with its own id, a
# string replace where a reverse() per link and row cost milliseconds a page (the table's 50 rows,
# the board's 300 cards).
_URL_ID = 987654321987


def item_links(workspace_slug: str, **names: str) -> Callable[[int], dict[str, str]]:
    """A function giving an item's links, key -> URL, for `names` (key -> URL name)."""
    kwargs = {"workspace_slug": workspace_slug, "item_id": _URL_ID}
    urls = {key: reverse(name, kwargs=kwargs) for key, name in names.items()}
    placeholder = str(_URL_ID)

    def links(item_id: int) -> dict[str, str]:
        return {key: url.replace(placeholder, str(item_id)) for key, url in urls.items()}

    return links


def _row_urls(workspace_slug: str) -> Callable[[int], dict[str, str]]:
    return item_links(
        workspace_slug,
        detail="backlog:item-detail",
        cell="backlog:item-cell",
        move="backlog:item-move",
    )


def _row_decorate(
    row: dict[str, Any],
    primary: ScoringFormula | None,
    columns: list[InputColumn],
    urls: Callable[[int], dict[str, str]],
) -> dict[str, Any]:
    """What a row's cells show: labels, the owner's name, the primary score, the effort and
    each input column; its links."""
    row["urls"] = urls(row["id"])
    row["status_label"] = STATUS_LABELS[row["status"]]
    row["kind_label"] = KIND_LABELS[row["kind"]]
    row["owner_name"] = row["owner__name"] or (row["owner__email"] or "").split("@")[0]
    row["score"] = row["scores"].get(str(primary.id)) if primary is not None else None
    row["effort"] = table.cell_text(row["effort"])
    inputs = row["inputs"] or {}
    row["cells"] = [
        {
            "column": column,
            "value": table.cell_text(inputs.get(column.key)),
            "shown": column.shown(inputs.get(column.key)),
            # RICE reads the item's effort while its own is unset: shown dimmed, as a hint.
            "fallback": row["effort"]
            if column.key == "rice.effort" and inputs.get(column.key) is None
            else "",
        }
        for column in columns
    ]
    return row


def _editor_context(areas: list[ProductArea], members: list[Membership]) -> dict[str, Any]:
    """The choices the table's cell editors offer (rendered once, as templates)."""
    return {
        "status_choices": Item.Status.choices,
        "area_choices": [(str(a.id), a.name) for a in areas],
        "owner_choices": [(str(m.user_id), m.user.display_name) for m in members],
    }


def _layout_url(workspace_slug: str, layout: str) -> str:
    """The page of a layout; the table until the board and matrix pages exist."""
    kwargs = {"workspace_slug": workspace_slug}
    try:
        return reverse(LAYOUT_URL_NAMES.get(layout, "backlog:index"), kwargs=kwargs)
    except NoReverseMatch:
        return reverse("backlog:index", kwargs=kwargs)


def saved_view_url(workspace_slug: str, view: SavedView) -> str:
    query = saved_views.saved_view_query(view)
    query["view"] = str(view.id)
    return f"{_layout_url(workspace_slug, view.layout)}?{query.urlencode()}"


def saved_views_context(
    request: HttpRequest, *, layout: str, views: list[SavedView] | None = None
) -> dict[str, Any]:
    """The views bar of a backlog page (one query, unless `views` were read already): the
    workspace's shared views and the person's own, which is open (`?view=<id>`), and whether the
    page's filters differ from it."""
    workspace, membership = request.workspace, request.membership
    if views is None:
        views = list(saved_views.saved_view_list(workspace=workspace, user=request.user))
    open_id = request.GET.get("view", "")
    current = next((v for v in views if str(v.id) == open_id), None)
    params = saved_views.saved_view_params_clean(request.GET)
    query = request.GET.copy()
    for name in NOT_VIEW_PARAMS:
        query.pop(name, None)
    return {
        "saved_views": [
            {
                "view": view,
                "url": saved_view_url(workspace.slug, view),
                "is_current": view is current,
            }
            for view in views
        ],
        "current_view": current,
        "current_view_changed": current is not None and params != current.params,
        "current_view_can_change": current is not None
        and saved_views.can_change_saved_view(membership, current),
        "can_share_views": saved_views.can_share_saved_view(membership),
        "view_layout": layout,
        "view_query": query.urlencode(),
        "all_items_url": _layout_url(workspace.slug, layout),
    }


@workspace_view()
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The backlog table. Queries: the filters' choices (areas, members, tags, segments), the
    saved views, the primary formula and the layout's workspace switcher in one round trip, then
    the rows (area and owner joined; tags, scores and inputs as subqueries); +1 when the page is
    empty, to tell a new backlog from a narrow filter."""
    workspace = request.workspace
    areas, members, tags, views, primaries, segments, switcher = querysets_read_together(
        selectors.product_area_list(workspace=workspace),
        membership_list(workspace=workspace),
        discovery_selectors.tag_list(workspace=workspace),
        saved_views.saved_view_list(workspace=workspace, user=request.user),
        selectors.primary_formula_query(workspace=workspace),
        discovery_selectors.company_segment_query(workspace=workspace),
        membership_query_for_user(user=request.user),
    )
    primary = primaries[0] if primaries else None
    form = ItemFilterForm(
        request.GET or None,
        areas=areas,
        members=members,
        tags=tags,
        segments=segments,
        formula=primary,
    )
    filters, sort = form.filters(), form.sort_value()
    cursor = request.GET.get("after", "")
    try:
        rows, next_cursor = listing.item_page(
            workspace=workspace,
            filters=filters,
            sort=sort if listing.is_sort(sort) else "rank",
            cursor=cursor,
            size=PAGE_SIZE,
            with_inputs=True,
        )
    except (listing.BadCursor, ValidationError):
        # A stale link (another sort's cursor, a formula since deleted): the first page.
        cursor, sort = "", "rank" if primary is None else sort
        rows, next_cursor = listing.item_page(
            workspace=workspace, filters=filters, sort=sort, size=PAGE_SIZE, with_inputs=True
        )
    query = request.GET.copy()
    query.pop("after", None)
    first_url = f"?{query.urlencode()}" if query else "?"
    next_url = ""
    if next_cursor is not None:
        query["after"] = next_cursor
        next_url = f"?{query.urlencode()}"
    backlog_is_empty = not rows and not selectors.item_list(workspace=workspace).exists()
    columns = table.input_columns(workspace=workspace, formula=primary)
    urls = _row_urls(workspace.slug)
    for row in rows:
        _row_decorate(row, primary, columns, urls)
    can_edit = role_allows(request.membership.role, Role.EDITOR)
    context = {
        "form": form,
        "rows": rows,
        "sort": sort,
        "next_url": next_url,
        "first_url": first_url,
        "is_continuation": bool(cursor),
        "has_filters": filters.active,
        "backlog_is_empty": backlog_is_empty,
        # Dragging writes the manual order, which only the manual order shows.
        "can_rank": can_edit and sort == "rank",
        "can_edit_cells": can_edit,
        "primary": primary,
        "input_columns": columns,
        **_editor_context(areas, members),
        **saved_views_context(request, layout=SavedView.Layout.TABLE, views=views),
        # The layout's workspace switcher, read with the rest (the context processor's is lazy).
        "switcher_memberships": switcher,
    }
    return render(request, "backlog/index.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def item_new(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = ItemCreateForm(
        request.POST or None, areas=selectors.product_area_list(workspace=workspace)
    )
    if request.method == "POST" and form.is_valid():
        try:
            item = services.item_create(
                workspace=workspace, actor=request.user, **form.service_kwargs()
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"“{item.title}” added to the backlog.")
            if "add_another" in request.POST:
                return redirect("backlog:item-new", workspace_slug=workspace.slug)
            return redirect(item_url(workspace.slug, item.id))
    return render(
        request,
        "backlog/item_new.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@workspace_view()
@require_POST
def item_move(request: HttpRequest, item_id: int) -> HttpResponse:
    """Place the item right after `after_id` (or before `before_id`) in the manual order.

    The table's drag and drop and Alt+arrows ask for JSON; a plain form post is redirected back.
    Ids of other workspaces, like deleted ones, are 404.
    """
    workspace = request.workspace
    item = object_or_404(selectors.item_get, workspace=workspace, item_id=item_id)
    form = ItemMoveForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"message": "Say where the item goes."}, status=400)
    try:
        services.item_move(
            workspace=workspace,
            actor=request.user,
            item=item,
            after_id=form.cleaned_data["after_id"],
            before_id=form.cleaned_data["before_id"],
        )
    except services.ItemGoneError as exc:
        raise Http404(exc.message) from exc
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"message": f"Moved “{item.title}”."})
    return redirect("backlog:index", workspace_slug=workspace.slug)


def _row_html(request: HttpRequest, item_id: int) -> str:
    """One row of the table as it stands now, as the table renders it (editable cells; a drag
    grip when the table it goes back into is in the manual order, which backlog.js says)."""
    workspace = request.workspace
    primary = selectors.primary_formula_get(workspace=workspace)
    columns = table.input_columns(workspace=workspace, formula=primary)
    row = listing.item_row(workspace=workspace, item_id=item_id, with_inputs=True)
    _row_decorate(row, primary, columns, _row_urls(workspace.slug))
    return table_row_html(
        row,
        can_edit_cells=True,
        can_rank=request.POST.get("rankable") == "1",
        has_score=primary is not None,
    )


def _first_message(exc: ValidationError) -> str:
    return exc.messages[0] if exc.messages else "This value was refused."


@workspace_view()
@require_POST
def item_cell(request: HttpRequest, item_id: int) -> HttpResponse:
    """Save one cell of the table (status, owner, area, effort, an input of the primary
    formula) begun on the item's `version`.

    backlog.js asks for JSON: the row as it now stands, or a 400 saying what is wrong with the
    value, or a 409 with the row as someone else left it. A plain form post is redirected back
    to the table with the same message.
    """
    workspace = request.workspace
    item = object_or_404(selectors.item_get, workspace=workspace, item_id=item_id)
    primary = selectors.primary_formula_get(workspace=workspace)
    cells = [
        *table.ITEM_CELLS,
        *(c.key for c in table.input_columns(workspace=workspace, formula=primary)),
    ]
    form = ItemCellForm(request.POST, cells=cells)
    wants_json = "application/json" in request.headers.get("Accept", "")
    status, message = 200, ""
    if not form.is_valid():
        status = 400
        message = next(iter(form.errors.values()))[0]
    else:
        data = form.cleaned_data
        try:
            table.item_cell_set(
                workspace=workspace,
                actor=request.user,
                item=item,
                version=data["version"],
                field=data["field"],
                value=data["value"],
                reason=data["reason"],
                was=data["was"] if "was" in request.POST else None,
            )
        except services.ItemGoneError as exc:
            raise Http404(exc.message) from exc
        except services.StaleItemError as exc:
            status, message = 409, exc.message
        except ApplicationError as exc:
            status, message = 400, exc.message
        except ValidationError as exc:
            status, message = 400, _first_message(exc)
        else:
            message = f"Saved “{item.title}”."
    if not wants_json:
        (messages.success if status == 200 else messages.error)(request, message)
        return redirect("backlog:index", workspace_slug=workspace.slug)
    body = {"message": message}
    if status != 400:
        body["row"] = _row_html(request, item.id)
    return JsonResponse(body, status=status)


# --- saved views -----------------------------------------------------------------------------
def _saved_view(request: HttpRequest, saved_view_id: int) -> SavedView:
    return object_or_404(
        saved_views.saved_view_get,
        workspace=request.workspace,
        user=request.user,
        saved_view_id=saved_view_id,
    )


def _saved_view_to_change(request: HttpRequest, saved_view_id: int) -> SavedView:
    """A view this person may change; a shared view of someone else is a 403 for anyone but an
    admin, before the form is read (the service checks again)."""
    view = _saved_view(request, saved_view_id)
    if not saved_views.can_change_saved_view(request.membership, view):
        raise PermissionDenied("Only the person who made this view, or an admin, can change it.")
    return view


def _refused(request: HttpRequest, exc: ValidationError | ApplicationError) -> None:
    text = exc.message if isinstance(exc, ApplicationError) else _first_message(exc)
    messages.error(request, text)


# Anyone in the workspace keeps views; sharing one takes an editor (backlog.saved_views).
VIEW_ROLES = {"POST": Role.VIEWER}


@workspace_view()
@require_GET
def saved_view_open(request: HttpRequest, saved_view_id: int) -> HttpResponse:
    """A view's stable link: its page (table, board or matrix) with its filters."""
    view = _saved_view(request, saved_view_id)
    return redirect(saved_view_url(request.workspace.slug, view))


@workspace_view(roles=VIEW_ROLES)
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    """Save the page's filters and sort as a view, then open it."""
    workspace = request.workspace
    form = SavedViewCreateForm(request.POST)
    fallback = _layout_url(workspace.slug, request.POST.get("layout", ""))
    if not form.is_valid():
        messages.error(request, "Name the view (at most 80 characters).")
        return redirect(f"{fallback}?{request.POST.get('query', '')}")
    data = form.cleaned_data
    try:
        view = saved_views.saved_view_create(
            workspace=workspace,
            membership=request.membership,
            name=data["name"],
            params=QueryDict(data["query"]),
            layout=data["layout"],
            is_shared=data["is_shared"],
        )
    except (ValidationError, ApplicationError) as exc:
        _refused(request, exc)
        return redirect(f"{fallback}?{data['query']}")
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(saved_view_url(workspace.slug, view))


@workspace_view(roles=VIEW_ROLES)
@require_POST
def saved_view_update(request: HttpRequest, saved_view_id: int) -> HttpResponse:
    """Save the page's filters into the view, or share it or keep it personal."""
    view = _saved_view_to_change(request, saved_view_id)
    form = SavedViewUpdateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved_views.saved_view_update(
                workspace=request.workspace,
                membership=request.membership,
                view=view,
                params=QueryDict(data["query"]) if "query" in request.POST else None,
                is_shared={"shared": True, "personal": False}.get(data["sharing"]),
            )
        except (ValidationError, ApplicationError) as exc:
            _refused(request, exc)
        else:
            messages.success(request, f"Updated the view “{view.name}”.")
    else:
        messages.error(request, "That change is not understood; reload the page.")
    return redirect(saved_view_url(request.workspace.slug, view))


@workspace_view(roles=VIEW_ROLES)
@require_POST
def saved_view_rename(request: HttpRequest, saved_view_id: int) -> HttpResponse:
    view = _saved_view_to_change(request, saved_view_id)
    form = SavedViewRenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the view (at most 80 characters).")
    else:
        try:
            saved_views.saved_view_rename(
                workspace=request.workspace,
                membership=request.membership,
                view=view,
                name=form.cleaned_data["name"],
            )
        except (ValidationError, ApplicationError) as exc:
            _refused(request, exc)
        else:
            messages.success(request, f"Renamed the view to “{view.name}”.")
    return redirect(saved_view_url(request.workspace.slug, view))


@workspace_view(roles=VIEW_ROLES)
@require_POST
def saved_view_delete(request: HttpRequest, saved_view_id: int) -> HttpResponse:
    view = _saved_view_to_change(request, saved_view_id)
    try:
        saved_views.saved_view_delete(
            workspace=request.workspace, membership=request.membership, view=view
        )
    except ApplicationError as exc:
        _refused(request, exc)
        return redirect(saved_view_url(request.workspace.slug, view))
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(_layout_url(request.workspace.slug, view.layout))


urlpatterns = [
    path("", index, name="index"),
    path("items/new/", item_new, name="item-new"),
    path("items/<int:item_id>/move/", item_move, name="item-move"),
    path("items/<int:item_id>/cell/", item_cell, name="item-cell"),
    path("views/", saved_view_create, name="saved-view-create"),
    path("views/<int:saved_view_id>/", saved_view_open, name="saved-view-open"),
    path("views/<int:saved_view_id>/update/", saved_view_update, name="saved-view-update"),
    path("views/<int:saved_view_id>/rename/", saved_view_rename, name="saved-view-rename"),
    path("views/<int:saved_view_id>/delete/", saved_view_delete, name="saved-view-delete"),
]
