"""One search box over feedback, highlights, interviews and insights, plus people by name."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from discovery import selectors
from discovery.interview_forms import SearchForm
from pmhub.workspaces.decorators import workspace_view

RESULTS = 50
PEOPLE = 8
GROUPS = [
    ("feedback", "Feedback"),
    ("highlight", "Highlights"),
    ("interview", "Interviews"),
    ("insight", "Insights"),
]


@workspace_view()
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = SearchForm(request.GET or None)
    query = kind = ""
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        kind = form.cleaned_data["kind"]
    hits = selectors.search(workspace=workspace, query=query, limit=RESULTS) if query else []
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
