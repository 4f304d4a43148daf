"""The send log by run: every period key of the workspace with its outcome counts, and the
deliveries of one."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from pmhub.core.views import object_or_404
from pmhub.digests import selectors
from pmhub.digests.models import Delivery
from pmhub.workspaces.decorators import workspace_view


@workspace_view()
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    before = request.GET.get("before", "")[:48]
    runs = selectors.run_list(workspace=request.workspace, before=before)
    context = {
        "runs": runs,
        "before": before,
        "next_before": runs[-1].period if len(runs) == selectors.RUN_PAGE_SIZE else "",
        "statuses": Delivery.Status.choices,
    }
    return render(request, "digests/run_list.html", context)


@workspace_view()
@require_GET
def run_detail(request: HttpRequest, period: str) -> HttpResponse:
    run, deliveries = object_or_404(
        selectors.run_get, workspace=request.workspace, period=period[:48]
    )
    context = {
        "run": run,
        "deliveries": deliveries,
        "truncated": len(deliveries) == selectors.RUN_DETAIL_SIZE,
        "statuses": Delivery.Status.choices,
    }
    return render(request, "digests/run_detail.html", context)


urlpatterns = [
    path("runs/", run_list, name="run-list"),
    path("runs/<str:period>/", run_detail, name="run-detail"),
]
