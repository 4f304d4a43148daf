from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from pmhub.workspaces.decorators import workspace_view


@workspace_view()
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "docs/index.html")


urlpatterns = [
    path("", index, name="index"),
]
