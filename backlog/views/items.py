"""One backlog item: its page, inline edit with stale-edit detection, status, demand, evidence."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from backlog import selectors, services
from backlog.forms import EvidenceLinkForm, ImportanceForm, ItemEditForm, ItemStatusForm
from backlog.listing import item_merged_target
from backlog.models import Item, ItemCustomer
from backlog.views.scoring import scores_context
from backlog.views.table import item_url
from discovery import selectors as discovery
from docs.review import decision_records_for_item
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.markdown import render_markdown
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_list

CANDIDATES = 12
PARENT_OPTIONS = 12
# How much of each list the item page shows; "show all" pages through the rest.
CUSTOMERS_SHOWN = 25
QUOTES_SHOWN = 10
EVIDENCE_SHOWN = 20
EVIDENCE_PAGE_SIZE = 50


def _item(request: HttpRequest, item_id: int) -> Item:
    return object_or_404(selectors.item_get, workspace=request.workspace, item_id=item_id)


def _message(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


def _segments(item: Item) -> list[dict[str, Any]]:
    """Demand per segment, largest ARR first, with bar lengths relative to the largest (0-100)."""
    rows = [
        {
            "name": name or "No segment",
            "customers": bucket.get("customers", 0),
            "companies": bucket.get("companies", 0),
            "arr": Decimal(bucket.get("arr") or 0),
        }
        for name, bucket in (item.demand_by_segment or {}).items()
    ]
    rows.sort(key=lambda r: (-r["arr"], -r["customers"], r["name"]))
    top_arr = max((r["arr"] for r in rows), default=Decimal(0))
    top_customers = max((r["customers"] for r in rows), default=0)
    for row in rows:
        # By ARR when any company has one; else by head count, so the bars still say something.
        share = row["arr"] / top_arr if top_arr else row["customers"] / (top_customers or 1)
        row["bar"] = max(2, round(float(share) * 100)) if share else 0
    return rows


def _candidates(request: HttpRequest, item: Item, find: str) -> list[Any]:
    """Insights and feedback matching `find`, to link; those already linked are marked (one
    query over the hits, not over the item's links, which may be thousands)."""
    if not find.strip():
        return []
    hits = [
        hit
        for hit in discovery.search(workspace=request.workspace, query=find, limit=60)
        if hit.kind in {"feedback", "insight"}
    ][:CANDIDATES]
    if not hits:
        return []
    linked = {
        ("insight", insight_id) if insight_id else ("feedback", feedback_id)
        for insight_id, feedback_id in selectors.item_evidence_list(
            workspace=request.workspace, item=item
        )
        .filter(
            Q(insight_id__in=[h.id for h in hits if h.kind == "insight"])
            | Q(feedback_id__in=[h.id for h in hits if h.kind == "feedback"])
        )
        .values_list("insight_id", "feedback_id")
    }
    return [{"hit": hit, "linked": (hit.kind, hit.id) in linked} for hit in hits]


def _label_importance(links: Any) -> None:
    """Give each link of item_evidence_ranked the label of its customer's importance."""
    labels = dict(ItemCustomer.Importance.choices)
    for link in links:
        link.importance_label = labels.get(link.importance, "")


def _edit_choices(request: HttpRequest, item: Item) -> dict[str, Any]:
    workspace = request.workspace
    return {
        "areas": selectors.product_area_list(workspace=workspace),
        "members": list(membership_list(workspace=workspace)),
        "parent_get": partial(selectors.item_parent_get, workspace=workspace, item=item),
    }


def _context(request: HttpRequest, item: Item, **overrides: Any) -> dict[str, Any]:
    workspace = request.workspace
    find = request.GET.get("find", "")[:200]
    # The page answers "who asked, in their words" from the top of each list; the item's stored
    # counts say how many more there are, and the evidence page lists them all, page by page.
    customers = list(
        selectors.item_customers_ranked(workspace=workspace, item=item)[:CUSTOMERS_SHOWN]
    )
    quotes = selectors.item_quotes_top(workspace=workspace, item=item, limit=QUOTES_SHOWN)
    _label_importance(quotes)
    evidence = selectors.item_evidence_newest(workspace=workspace, item=item, limit=EVIDENCE_SHOWN)
    context = {
        "item": item,
        "description_html": render_markdown(item.description),
        "children": list(selectors.item_children(workspace=workspace, item=item)),
        "quotes": quotes,
        # Past this many links the quotes are ranked among the newest (selectors.QUOTES_WINDOW).
        "quotes_window": selectors.QUOTES_WINDOW
        if item.evidence_count > selectors.QUOTES_WINDOW
        else None,
        "evidence": evidence,
        "evidence_more": max(0, item.evidence_count - len(evidence)),
        "customers": customers,
        "customers_more": max(0, item.customer_count - len(customers)),
        "segments": _segments(item),
        "importance_choices": ItemCustomer.Importance.choices,
        "statuses": [s for s in Item.Status if s != Item.Status.DECLINED],
        "find": find,
        "candidates": _candidates(request, item, find),
        # Viewers (engineers reading why) get no edit form, nor the two reads behind it.
        "edit_form": ItemEditForm(
            initial=ItemEditForm.initial_for(item),
            current_parent=item.parent,
            **_edit_choices(request, item),
        )
        if request.membership.role in (Role.ADMIN, Role.EDITOR)
        else None,
        "edit_open": False,
        "conflict": None,
        "status_form": ItemStatusForm(initial={"status": item.status}),
        # Decision records linked to the item or citing it, with their superseding record.
        "decisions": decision_records_for_item(workspace=workspace, item_id=item.id),
    }
    if "scores" not in overrides:
        context.update(scores_context(workspace, item))
    else:
        context.update(overrides.pop("scores"))
    context.update(overrides)
    return context


def item_page_response(request: HttpRequest, item: Item, status: int, **overrides: Any):
    """The item's page again, e.g. with the scoring inputs form's errors."""
    return render(
        request, "backlog/item_detail.html", _context(request, item, **overrides), status=status
    )


@workspace_view()
@require_GET
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    # A merged item's old address leads to the item it was merged into.
    target = item_merged_target(request.workspace, item_id)
    if target is not None:
        return redirect(item_url(request.workspace.slug, target))
    item = _item(request, item_id)
    context = _context(request, item)
    if request.htmx and "find" in request.GET:
        return render(request, "backlog/item_detail.html#candidates", context)
    return render(request, "backlog/item_detail.html", context)


@workspace_view()
@require_GET
def item_parent_options(request: HttpRequest, item_id: int) -> HttpResponse:
    """The edit form's parent picker: epics and features matching `parent_q` that the item may
    move under, after the one chosen now (`parent`) and "No parent"; asked as one types."""
    workspace = request.workspace
    item = _item(request, item_id)
    query = request.GET.get("parent_q", "")[:200]
    chosen = None
    if request.GET.get("parent", "").isdigit():
        try:
            chosen = selectors.item_parent_get(
                workspace=workspace, item=item, parent_id=int(request.GET["parent"])
            )
        except Item.DoesNotExist:
            chosen = None
    options = selectors.item_parent_options(
        workspace=workspace, item=item, query=query, limit=PARENT_OPTIONS
    )
    context = {
        "item": item,
        "parent_choice": chosen,
        "parent_options": [o for o in options if chosen is None or o.id != chosen.id],
        "parent_query": query,
    }
    return render(request, "backlog/_item_parent_options.html", context)


@workspace_view()
@require_GET
def item_evidence_all(request: HttpRequest, item_id: int) -> HttpResponse:
    """Everything behind an item, page by page: its evidence (insights, then quotes by their
    customer's importance) or, with list=customers, everyone who asked."""
    workspace = request.workspace
    target = item_merged_target(workspace, item_id)
    if target is not None:
        return redirect(
            reverse(
                "backlog:item-evidence-all",
                kwargs={"workspace_slug": workspace.slug, "item_id": target},
            )
        )
    item = _item(request, item_id)
    showing = "customers" if request.GET.get("list") == "customers" else "evidence"
    rows = (
        selectors.item_customers_ranked(workspace=workspace, item=item)
        if showing == "customers"
        else selectors.item_evidence_ranked(workspace=workspace, item=item)
    )
    page = Paginator(rows, EVIDENCE_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    if showing == "evidence":
        _label_importance(page.object_list)
    context = {"item": item, "showing": showing, "page": page}
    return render(request, "backlog/item_evidence.html", context)


@workspace_view()
@require_POST
def item_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    """Save the inline edit begun on `version`; a stale one keeps the person's text on screen."""
    workspace = request.workspace
    item = _item(request, item_id)
    choices = _edit_choices(request, item)
    form = ItemEditForm(request.POST, current_parent=item.parent, **choices)
    conflict = None
    if form.is_valid():
        try:
            services.item_update(
                workspace=workspace,
                actor=request.user,
                item=item,
                version=form.cleaned_data["version"],
                **form.service_kwargs(),
            )
        except services.StaleItemError:
            # The page's conflict notice replaces the service's "reload" advice: the person's
            # text stays in the form, which now carries the saved version, so saving again, on
            # purpose, replaces the other change.
            conflict = item
            post = request.POST.copy()
            post["version"] = str(item.version)
            form = ItemEditForm(post, current_parent=item.parent, **choices)
            form.is_valid()
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Item saved.")
            return redirect(item_url(workspace.slug, item.id))
    context = _context(request, item, edit_form=form, edit_open=True, conflict=conflict)
    return render(request, "backlog/item_detail.html", context, status=409 if conflict else 400)


@workspace_view()
@require_POST
def item_status(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    form = ItemStatusForm(request.POST)
    if form.is_valid():
        try:
            item = services.item_set_status(
                workspace=request.workspace,
                actor=request.user,
                item=item,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Status: {item.get_status_display()}.")
            return redirect(item_url(request.workspace.slug, item.id))
    return render(
        request, "backlog/item_detail.html", _context(request, item, status_form=form), status=400
    )


@workspace_view()
@require_POST
def item_importance(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    form = ImportanceForm(request.POST)
    back = item_url(request.workspace.slug, item.id) + "#demand"
    if not form.is_valid():
        messages.error(request, "Choose nice to have, important or critical.")
        return redirect(back)
    try:
        services.item_customer_importance_set(
            workspace=request.workspace,
            actor=request.user,
            item=item,
            customer_id=form.cleaned_data["customer_id"],
            importance=form.cleaned_data["importance"],
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Importance saved.")
    return redirect(back)


@workspace_view()
@require_POST
def item_evidence_link(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    form = EvidenceLinkForm(request.POST)
    back = item_url(request.workspace.slug, item.id) + "#evidence"
    if not form.is_valid():
        messages.error(request, "Choose one insight or one feedback item.")
        return redirect(back)
    try:
        services.item_link_evidence(
            workspace=request.workspace,
            actor=request.user,
            item=item,
            insight_id=form.cleaned_data["insight_id"],
            feedback_id=form.cleaned_data["feedback_id"],
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Evidence linked.")
    return redirect(back)


@workspace_view()
@require_POST
def item_evidence_unlink(request: HttpRequest, item_id: int, item_evidence_id: int) -> HttpResponse:
    item = _item(request, item_id)
    evidence = object_or_404(
        selectors.item_evidence_get,
        workspace=request.workspace,
        item_evidence_id=item_evidence_id,
    )
    if evidence.item_id != item.id:
        raise Http404("This evidence belongs to another item.")
    services.item_unlink_evidence(
        workspace=request.workspace, actor=request.user, evidence=evidence
    )
    messages.success(request, f"Unlinked from the backlog item “{item.title}”.")
    # Discovery's pages unlink too and come back to themselves; only a path on this site.
    back = request.POST.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect(item_url(request.workspace.slug, item.id) + "#evidence")


urlpatterns = [
    path("items/<int:item_id>/", item_detail, name="item-detail"),
    path("items/<int:item_id>/edit/", item_edit, name="item-edit"),
    path("items/<int:item_id>/parents/", item_parent_options, name="item-parent-options"),
    path("items/<int:item_id>/status/", item_status, name="item-status"),
    path("items/<int:item_id>/importance/", item_importance, name="item-importance"),
    path("items/<int:item_id>/evidence/", item_evidence_link, name="item-evidence-link"),
    path("items/<int:item_id>/evidence/all/", item_evidence_all, name="item-evidence-all"),
    path(
        "items/<int:item_id>/evidence/<int:item_evidence_id>/unlink/",
        item_evidence_unlink,
        name="item-evidence-unlink",
    ),
]
