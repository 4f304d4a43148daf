"""The triage inbox: filter, select, tag, archive, next; and adding one feedback item by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from discovery import selectors, services
from discovery.forms import (
    FeedbackBulkForm,
    FeedbackCreateForm,
    InboxFilterForm,
    format_cursor,
    parse_cursor,
)
from discovery.models import Customer, Feedback, Insight
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.workspaces.decorators import workspace_view

PAGE_SIZE = 50


PICKER_INSIGHTS = 200


@workspace_view()
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The inbox. Queries: tags, segments, rows, taggings, pending suggestions (+1 when the page
    is empty)."""
    workspace = request.workspace
    tags = list(selectors.tag_list(workspace=workspace))
    form = InboxFilterForm(
        request.GET or None, tags=tags, segments=selectors.company_segments(workspace=workspace)
    )
    filters = form.filters()
    after = parse_cursor(request.GET.get("after", ""))
    rows, next_cursor = selectors.feedback_page(
        workspace=workspace, filters=filters, after=after, size=PAGE_SIZE, with_suggestions=True
    )
    query = request.GET.copy()
    query.pop("after", None)
    first_url = f"?{query.urlencode()}" if query else "?"
    next_url = ""
    if next_cursor is not None:
        query = request.GET.copy()
        query["after"] = format_cursor(next_cursor)
        next_url = f"?{query.urlencode()}"
    workspace_is_empty = not rows and not selectors.feedback_list(workspace=workspace).exists()
    filtered = {k: v for k, v in request.GET.items() if k not in ("status", "after") and v}
    # The insights evidence can be linked to, most cited first; a picker, so a bounded list.
    insights = list(
        selectors.insight_list(workspace=workspace).exclude(status=Insight.Status.ARCHIVED)[
            :PICKER_INSIGHTS
        ]
    )
    context = {
        "form": form,
        "rows": rows,
        "tags": tags,
        "next_url": next_url,
        "first_url": first_url,
        "is_continuation": after is not None,
        "status": form.status_value,
        "has_other_filters": bool(filtered),
        "workspace_is_empty": workspace_is_empty,
        "insights": insights,
        "bulk_form": FeedbackBulkForm(tags=tags, insights=insights),
        "current_url": request.get_full_path(),
    }
    return render(request, "discovery/index.html", context)


def _back(request: HttpRequest, candidate: str) -> HttpResponse:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(candidate)
    return redirect("discovery:index", workspace_slug=request.workspace.slug)


@workspace_view()
@require_POST
def feedback_bulk(request: HttpRequest) -> HttpResponse:
    """Triage, archive, reopen, tag or untag the selected items of this workspace.

    Ids of other workspaces are ignored by the services (they only see this workspace's rows).
    A request that asks for JSON (the inbox's keyboard) gets `{changed, message}`; a plain form
    post is redirected back.
    """
    workspace = request.workspace
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = FeedbackBulkForm(
        request.POST,
        tags=selectors.tag_list(workspace=workspace),
        insights=selectors.insight_list(workspace=workspace),
    )
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        message = " ".join(errors)
        if wants_json:
            return JsonResponse({"message": message}, status=400)
        messages.error(request, message)
        return _back(request, request.POST.get("next", ""))
    data = form.cleaned_data
    action, ids = data["action"], data["feedback_ids"]
    try:
        if action in FeedbackBulkForm.STATUS_OF_ACTION:
            status = FeedbackBulkForm.STATUS_OF_ACTION[action]
            changed = services.feedback_set_status(
                workspace=workspace, actor=request.user, feedback_ids=ids, status=status
            )
            label = Feedback.Status(status).label.lower()
            message = f"{changed} item{'s' if changed != 1 else ''} moved to {label}."
        elif action == "tag":
            changed = services.feedback_tag(
                workspace=workspace, actor=request.user, feedback_ids=ids, tag_id=data["tag_id"]
            )
            message = f"Tag added to {changed} item{'s' if changed != 1 else ''}."
        elif action == "untag":
            changed = services.feedback_untag(
                workspace=workspace, actor=request.user, feedback_ids=ids, tag_id=data["tag_id"]
            )
            message = f"Tag removed from {changed} item{'s' if changed != 1 else ''}."
        else:
            changed = services.feedback_cite(
                workspace=workspace,
                actor=request.user,
                feedback_ids=ids,
                insight_id=data["insight_id"],
            )
            message = f"{changed} item{'s' if changed != 1 else ''} linked as evidence."
    except (ValidationError, ApplicationError) as exc:
        message = exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
        if wants_json:
            return JsonResponse({"message": message}, status=400)
        messages.error(request, message)
        return _back(request, data.get("next", ""))
    if wants_json:
        return JsonResponse({"changed": changed, "message": message})
    messages.success(request, message)
    return _back(request, data.get("next", ""))


# How many customers the picker of "Add feedback" shows at once: a workspace has thousands,
# found by typing.
CUSTOMER_OPTIONS = 12


def _customer_options(request: HttpRequest, find: str, form: FeedbackCreateForm) -> dict[str, Any]:
    """The picker's context: the customers matching `find` (the newest without it), with the
    one the form has chosen kept among them."""
    found = selectors.customer_find(
        workspace=request.workspace, query=find, limit=CUSTOMER_OPTIONS + 1
    )
    options = found[:CUSTOMER_OPTIONS]
    chosen = form.chosen_customer() if form.is_bound else _customer_in_query(request)
    if chosen is not None and chosen not in options:
        options.insert(0, chosen)
    return {
        "customer_options": options,
        "customer_more": len(found) > CUSTOMER_OPTIONS,
        "customer_chosen": chosen.id if chosen else None,
        "find": find,
    }


def _customer_in_query(request: HttpRequest) -> Customer | None:
    """The customer a search keeps chosen (`?customer=`): one of the workspace's, or None."""
    raw = request.GET.get("customer", "")
    if not raw.isdigit():
        return None
    try:
        return selectors.customer_get(workspace=request.workspace, customer_id=int(raw))
    except Customer.DoesNotExist:
        return None


@workspace_view()
@require_http_methods(["GET", "POST"])
def feedback_new(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = FeedbackCreateForm(
        request.POST or None, customers=selectors.customer_list(workspace=workspace)
    )
    find = " ".join(request.GET.get("find", "").split())[:200]
    if request.method == "GET" and request.htmx and "find" in request.GET:
        return render(
            request,
            "discovery/feedback_new.html#customer-options",
            _customer_options(request, find, form),
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer = data["customer"]
        try:
            services.feedback_create(
                workspace=workspace,
                actor=request.user,
                data=services.FeedbackInput(
                    text=data["text"],
                    source=data["source"],
                    customer_id=customer.id if customer else None,
                    received_at=form.received_at(),
                ),
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Feedback added to the inbox.")
            if "add_another" in request.POST:
                return redirect("discovery:feedback-new", workspace_slug=workspace.slug)
            return redirect("discovery:index", workspace_slug=workspace.slug)
    context = {"form": form, **_customer_options(request, find, form)}
    return render(request, "discovery/feedback_new.html", context)


urlpatterns = [
    path("", index, name="index"),
    path("feedback/new/", feedback_new, name="feedback-new"),
    path("feedback/bulk/", feedback_bulk, name="feedback-bulk"),
]
