"""The backlog table: filters, sorts, keyset pages, a new item, and moves in the manual order."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backlog import selectors, services
from backlog.forms import (
    SORT_CHOICES,
    ItemCreateForm,
    ItemFilterForm,
    ItemMoveForm,
    format_cursor,
    parse_cursor,
)
from backlog.models import Item
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role, role_allows
from pmhub.workspaces.selectors import membership_list

PAGE_SIZE = 50


def item_url(workspace_slug: str, item_id: int) -> str:
    return reverse(
        "backlog:item-detail", kwargs={"workspace_slug": workspace_slug, "item_id": item_id}
    )


def _score_cursor(value: str) -> tuple[str, int] | None:
    """`<score or none>_<id>` from a "Load more" link of the score sort; None when malformed."""
    raw, _, row_id = value.rpartition("_")
    try:
        number = int(row_id)
        if raw != "none":
            float(raw)
    except ValueError:
        return None
    return (raw, number) if raw else None


@workspace_view()
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The backlog table. Queries: areas, members (the filters' choices), the primary formula,
    rows (area and owner joined, the primary score as a subquery); +1 when the page is empty, to
    tell a new backlog from a narrow filter."""
    workspace = request.workspace
    areas = list(selectors.product_area_list(workspace=workspace))
    members = list(membership_list(workspace=workspace))
    primary = selectors.primary_formula_get(workspace=workspace)
    form = ItemFilterForm(request.GET or None, areas=areas, members=members)
    if primary is not None:
        form.fields["sort"].choices = [("score", primary.name), *SORT_CHOICES]
    filters, sort = form.filters(), form.sort_value()
    raw_after = request.GET.get("after", "")
    after = _score_cursor(raw_after) if sort == "score" else parse_cursor(raw_after, sort)
    rows, next_cursor = selectors.item_page_with_scores(
        workspace=workspace,
        formula=primary,
        filters=filters,
        sort=sort,
        after=after,
        size=PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("after", None)
    first_url = f"?{query.urlencode()}" if query else "?"
    next_url = ""
    if next_cursor is not None:
        query["after"] = format_cursor(next_cursor)
        next_url = f"?{query.urlencode()}"
    backlog_is_empty = not rows and not selectors.item_list(workspace=workspace).exists()
    for row in rows:
        row["status_label"] = Item.Status(row["status"]).label
        row["kind_label"] = Item.Kind(row["kind"]).label
        row["owner_name"] = row["owner__name"] or (row["owner__email"] or "").split("@")[0]
    context = {
        "form": form,
        "rows": rows,
        "sort": sort,
        "next_url": next_url,
        "first_url": first_url,
        "is_continuation": after is not None,
        "has_filters": filters.active,
        "backlog_is_empty": backlog_is_empty,
        # Dragging writes the manual order, which only the manual order shows.
        "can_rank": role_allows(request.membership.role, Role.EDITOR) and sort == "rank",
        "create_form": ItemCreateForm(areas=areas),
        "primary": primary,
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


urlpatterns = [
    path("", index, name="index"),
    path("items/new/", item_new, name="item-new"),
    path("items/<int:item_id>/move/", item_move, name="item-move"),
]
