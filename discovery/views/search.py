"""One search box over feedback, highlights, interviews and insights, plus people by name."""

from __future__ import annotations

from dataclasses import replace

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from discovery import selectors
from discovery.forms import STATUS_ALL, InboxFilterForm
from discovery.interview_forms import SearchForm
from discovery.selectors import FeedbackFilters
from pmhub.workspaces.decorators import workspace_view

RESULTS = 50
PEOPLE = 8
GROUPS = [
    ("feedback", "Feedback"),
    ("highlight", "Highlights"),
    ("interview", "Interviews"),
    ("insight", "Insights"),
]


def _search_filters(form: InboxFilterForm) -> FeedbackFilters | None:
    """The inbox filters given to the search, or None when none is set."""
    filters = replace(form.filters(), query="")
    if not any(
        (
            filters.status,
            filters.source,
            filters.tag_id,
            filters.segment,
            filters.since,
            filters.until,
            filters.company_id,
            filters.customer_id,
        )
    ):
        return None
    return filters


@workspace_view()
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = SearchForm(request.GET or None)
    query = kind = ""
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        kind = form.cleaned_data["kind"]
    # Unlike the inbox, search looks at every status unless one is asked for.
    data = request.GET.copy()
    data.setdefault("status", STATUS_ALL)
    filter_form = InboxFilterForm(
        data,
        tags=selectors.tag_list(workspace=workspace),
        segments=selectors.company_segments(workspace=workspace),
    )
    filters = _search_filters(filter_form)
    if filters is not None:
        kind = "feedback"
    hits = (
        selectors.search(workspace=workspace, query=query, limit=RESULTS, feedback_filters=filters)
        if query
        else []
    )
    counts = {key: 0 for key, _label in GROUPS}
    for hit in hits:
        counts[hit.kind] += 1
    shown = [hit for hit in hits if not kind or hit.kind == kind]
    groups = [
        {"kind": key, "label": label, "hits": [h for h in shown if h.kind == key]}
        for key, label in GROUPS
    ]
    customers = companies = []
    if query and not kind:
        customers = list(selectors.customer_list(workspace=workspace, query=query)[:PEOPLE])
        companies = list(selectors.company_list(workspace=workspace, query=query)[:PEOPLE])
    context = {
        "form": form,
        "filter_form": filter_form,
        "filtered": filters is not None,
        "query": query,
        "kind": kind,
        "kinds": [(key, label, counts[key]) for key, label in GROUPS],
        "total": len(hits),
        "groups": [g for g in groups if g["hits"]],
        "customers": customers,
        "companies": companies,
        "searched": bool(query),
        "nothing": bool(query) and not shown and not customers and not companies,
    }
    return render(request, "discovery/search.html", context)


urlpatterns = [
    path("search/", search, name="search"),
]
