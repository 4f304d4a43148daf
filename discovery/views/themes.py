"""Themes page: the latest run's candidate tags, finding them again, turning one into a tag."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from discovery.models import TaggingJob
from discovery.themes import (
    theme_accept,
    theme_cards,
    themes_job_get,
    themes_job_latest,
    themes_start,
    untagged_feedback,
)
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.models import Workspace

ACTIVE = (TaggingJob.Status.PENDING, TaggingJob.Status.RUNNING)


class ThemeAcceptForm(forms.Form):
    job_id = forms.IntegerField()
    index = forms.IntegerField(min_value=0)
    name = forms.CharField(max_length=60, required=False)


def _run_context(workspace: Workspace, job: TaggingJob | None) -> dict[str, Any]:
    if job is None:
        return {"job": None, "is_active": False, "percent": 0, "cards": []}
    is_active = job.status in ACTIVE
    percent = min(100, job.processed * 100 // job.total) if job.total else 0
    return {
        "job": job,
        "is_active": is_active,
        "percent": percent,
        "is_grouping": is_active and job.total > 0 and job.processed >= job.total,
        "cards": [] if is_active else theme_cards(workspace=workspace, job=job),
    }


@workspace_view()
@vary_on_headers("HX-Request")
@require_GET
def theme_list(request: HttpRequest) -> HttpResponse:
    """The latest themes run. Queries: session, user, membership, switcher, the job, the untagged
    count, and the accepted candidates' tags when there are any. htmx polls the run partial."""
    workspace = request.workspace
    context = _run_context(workspace, themes_job_latest(workspace=workspace))
    if getattr(request, "htmx", False):
        return render(request, "discovery/themes.html#run", context)
    context["untagged_count"] = untagged_feedback(workspace=workspace).count()
    return render(request, "discovery/themes.html", context)


@workspace_view()
@require_POST
def theme_find(request: HttpRequest) -> HttpResponse:
    try:
        themes_start(workspace=request.workspace, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("discovery:theme-list", workspace_slug=request.workspace.slug)


@workspace_view()
@require_POST
def theme_create_tag(request: HttpRequest) -> HttpResponse:
    """Turn one candidate into a tag on its members. htmx gets the card back, others a redirect."""
    workspace = request.workspace
    list_url = reverse("discovery:theme-list", kwargs={"workspace_slug": workspace.slug})
    is_htmx = getattr(request, "htmx", False)
    form = ThemeAcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a theme of the latest run.")
        return redirect(list_url)
    data = form.cleaned_data
    try:
        job = themes_job_get(workspace=workspace, job_id=data["job_id"])
    except TaggingJob.DoesNotExist:
        messages.error(request, "This themes run is gone; find themes again.")
        return redirect(list_url)
    error = ""
    try:
        tag = theme_accept(
            workspace=workspace,
            actor=request.user,
            job=job,
            index=data["index"],
            name=data["name"],
        )
    except ApplicationError as exc:
        error = exc.message
    except ValidationError as exc:
        error = " ".join(exc.messages)
    job.refresh_from_db()
    cards = theme_cards(workspace=workspace, job=job)
    index = data["index"]
    if not is_htmx or not 0 <= index < len(cards):
        if error:
            messages.error(request, error)
        else:
            tagged = cards[index].get("tagged", 0)
            messages.success(request, f"Tag {tag.name} added to {tagged} items.")
        if is_htmx:  # No card to swap: the whole page shows the run as it is now.
            return HttpResponseClientRedirect(list_url)
        return redirect(f"{list_url}#theme-{index}")
    card = cards[index]
    if error:
        card = {**card, "error": error, "name": data["name"]}  # Keep what the PM typed.
    return render(request, "discovery/themes.html#theme-card", {"job": job, "card": card})


urlpatterns = [
    path("themes/", theme_list, name="theme-list"),
    path("themes/find/", theme_find, name="theme-find"),
    path("themes/create-tag/", theme_create_tag, name="theme-create-tag"),
]
