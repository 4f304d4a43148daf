"""Linking from Discovery: an insight or a feedback item becomes evidence of a backlog item."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from backlog import selectors, services
from backlog.forms import EvidenceLinkForm
from backlog.item_actions import item_create_from_evidence
from backlog.views.table import item_url
from discovery import selectors as discovery
from pmhub.core.exceptions import ApplicationError
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view

PICKER_SIZE = 12


def _source(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    """The insight or feedback item being linked, resolved in this workspace (else 404)."""
    workspace = request.workspace
    try:
        if data.get("insight_id"):
            insight = discovery.insight_get(workspace=workspace, insight_id=data["insight_id"])
            return {
                "kind": "insight",
                "id": insight.id,
                "label": insight.title,
                "title": insight.title,
                "url": reverse(
                    "discovery:insight-detail",
                    kwargs={"workspace_slug": workspace.slug, "insight_id": insight.id},
                ),
                "linked_ids": selectors.item_ids_asked_through(
                    workspace=workspace, insight_ids=[insight.id]
                ),
            }
        feedback = discovery.feedback_get(workspace=workspace, feedback_id=data["feedback_id"])
    except ObjectDoesNotExist as exc:
        raise Http404 from exc
    return {
        "kind": "feedback",
        "id": feedback.id,
        "label": feedback.text,
        "title": " ".join(feedback.text.split())[:120],
        "url": reverse(
            "discovery:feedback-detail",
            kwargs={"workspace_slug": workspace.slug, "feedback_id": feedback.id},
        ),
        "linked_ids": selectors.item_ids_asked_through(
            workspace=workspace, feedback_ids=[feedback.id]
        ),
    }


@workspace_view()
@require_GET
def evidence_link_picker(request: HttpRequest) -> HttpResponse:
    """Choose the backlog item an insight or feedback item asks for, or start a new one."""
    form = EvidenceLinkForm(request.GET)
    if not form.is_valid():
        return redirect("backlog:index", workspace_slug=request.workspace.slug)
    source = _source(request, form.cleaned_data)
    query = request.GET.get("q", "")[:200]
    items = selectors.item_search(workspace=request.workspace, query=query, limit=PICKER_SIZE)
    context = {"source": source, "query": query, "items": items}
    if request.htmx and "q" in request.GET:
        return render(request, "backlog/evidence_link.html#results", context)
    return render(request, "backlog/evidence_link.html", context)


@workspace_view()
@require_POST
def evidence_link(request: HttpRequest) -> HttpResponse:
    """Link the source to an existing item (`item_id`), or to a new one titled `title`."""
    workspace = request.workspace
    form = EvidenceLinkForm(request.POST)
    if not form.is_valid():
        return redirect("backlog:index", workspace_slug=workspace.slug)
    source = _source(request, form.cleaned_data)
    ids = {"insight_id": form.cleaned_data["insight_id"]} | {
        "feedback_id": form.cleaned_data["feedback_id"]
    }
    try:
        if request.POST.get("item_id"):
            try:
                item_id = int(request.POST["item_id"])
            except ValueError as exc:
                raise Http404 from exc
            item = object_or_404(selectors.item_get, workspace=workspace, item_id=item_id)
            services.item_link_evidence(workspace=workspace, actor=request.user, item=item, **ids)
        else:
            item = item_create_from_evidence(
                workspace=workspace,
                actor=request.user,
                title=request.POST.get("title") or source["title"],
                **ids,
            )
    except (ValidationError, ApplicationError) as exc:
        text = exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
        messages.error(request, text)
        return redirect(source["url"])
    link = item_url(workspace.slug, item.id)
    messages.success(request, f"Linked to the backlog item “{item.title}”.")
    return redirect(link if request.POST.get("open") else source["url"])


urlpatterns = [
    path("link/", evidence_link_picker, name="evidence-link-picker"),
    path("link/save/", evidence_link, name="evidence-link"),
]
