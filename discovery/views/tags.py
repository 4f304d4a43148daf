"""The tag taxonomy: list by group, a page per tag, create, edit, merge and delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from discovery import selectors, services
from discovery.forms import TagForm, TagMergeForm
from discovery.models import Tag
from discovery.selectors import FeedbackFilters
from discovery.views.people import inbox_url, trend_chart
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.models import Workspace

DETAIL_ITEMS = 50
# A workspace taxonomy is dozens of tags, not thousands; the list shows them all at once and
# this cap only keeps a runaway import from rendering an unbounded page.
TAG_LIST_LIMIT = 1000


def _tag(request: HttpRequest, tag_id: int) -> Tag:
    return object_or_404(selectors.tag_get, workspace=request.workspace, tag_id=tag_id)


def _with_counts(workspace: Workspace) -> list[Tag]:
    return list(
        selectors.tag_list(workspace=workspace).annotate(
            feedback_count=Count("taggings", filter=Q(taggings__feedback__isnull=False)),
            highlight_count=Count("taggings", filter=Q(taggings__highlight__isnull=False)),
        )[:TAG_LIST_LIMIT]
    )


@workspace_view()
@require_GET
def tag_list(request: HttpRequest) -> HttpResponse:
    """Tags by group with their counts. Queries: membership, session, tags with counts."""
    return render(request, "discovery/tag_list.html", {"tags": _with_counts(request.workspace)})


@workspace_view()
@require_http_methods(["GET", "POST"])
def tag_new(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = TagForm(request.POST or None, initial={"group": request.GET.get("group", "")[:40]})
    if request.method == "POST" and form.is_valid():
        try:
            tag = services.tag_create(workspace=workspace, actor=request.user, **form.cleaned_data)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Tag {tag.name} created.")
            return redirect("discovery:tag-list", workspace_slug=workspace.slug)
    return render(request, "discovery/tag_form.html", {"form": form, "tag": None})


def rules_context(
    workspace: Workspace, tag: Tag, *, form: Any = None, edit: Any = None, error: str = ""
) -> dict[str, Any]:
    """The rule editor of a tag's page: its rules, the new-rule form (blank, or as posted), the
    rule being edited in its row (`edit`, a views.tagging.RuleEdit) and a refusal to show."""
    from discovery.views.tagging import rule_form

    return {
        "rules": list(selectors.tag_rule_list(workspace=workspace, tag=tag)),
        "rule_form": form if form is not None else rule_form(workspace),
        "rule_edit": edit,
        "rules_error": error,
    }


def tag_detail_page(
    request: HttpRequest,
    tag: Tag,
    *,
    rule_form: Any = None,
    rule_edit: Any = None,
    rules_error: str = "",
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace
    filters = FeedbackFilters(tag_id=tag.id)
    feedback, more = selectors.feedback_page(
        workspace=workspace, filters=filters, size=DETAIL_ITEMS
    )
    highlights = list(selectors.highlight_list(workspace=workspace, tag=tag)[:DETAIL_ITEMS])
    context = {
        "tag": tag,
        "feedback": feedback,
        "more_feedback": more is not None,
        "more_url": inbox_url(workspace, tag=tag.id),
        "highlights": highlights,
        "trend": trend_chart(
            request=request,
            workspace=workspace,
            feedback=selectors.feedback_list(workspace=workspace, filters=filters),
        ),
        **rules_context(workspace, tag, form=rule_form, edit=rule_edit, error=rules_error),
    }
    return render(request, "discovery/tag_detail.html", context, status=status)


@workspace_view()
@vary_on_headers("HX-Request")
@require_GET
def tag_detail(request: HttpRequest, tag_id: int) -> HttpResponse:
    """The tag's page; htmx gets only its rules section (a cancelled rule edit redraws it)."""
    tag = _tag(request, tag_id)
    if getattr(request, "htmx", False):
        focus = request.GET.get("focus", "")
        context = {
            "tag": tag,
            **rules_context(request.workspace, tag),
            # The rule whose edit was cancelled gets the focus back on its Edit button.
            "focus_rule_id": int(focus) if focus.isdigit() else None,
        }
        return render(request, "discovery/tag_detail.html#rules", context)
    return tag_detail_page(request, tag)


@workspace_view()
@require_http_methods(["GET", "POST"])
def tag_edit(request: HttpRequest, tag_id: int) -> HttpResponse:
    workspace = request.workspace
    tag = _tag(request, tag_id)
    form = TagForm(
        request.POST or None,
        initial={
            "name": tag.name,
            "group": tag.group,
            "color": tag.color,
            "description": tag.description,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            tag = services.tag_update(
                workspace=workspace, actor=request.user, tag=tag, **form.cleaned_data
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Tag {tag.name} saved.")
            return redirect("discovery:tag-detail", workspace_slug=workspace.slug, tag_id=tag.id)
    return render(request, "discovery/tag_form.html", {"form": form, "tag": tag})


@workspace_view()
@require_http_methods(["GET", "POST"])
def tag_merge(request: HttpRequest, tag_id: int) -> HttpResponse:
    """Merge this tag into another: every link moves to the survivor, this tag goes."""
    workspace = request.workspace
    tag = _tag(request, tag_id)
    form = TagMergeForm(
        request.POST or None,
        tags=selectors.tag_list(workspace=workspace).exclude(id=tag.id),
    )
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["target"]
        try:
            survivor = services.tag_merge(
                workspace=workspace, actor=request.user, source=tag, target=target
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"{tag.name} merged into {survivor.name}.")
            return redirect(
                "discovery:tag-detail", workspace_slug=workspace.slug, tag_id=survivor.id
            )
    counts = _link_counts(workspace, tag)
    return render(request, "discovery/tag_merge.html", {"form": form, "tag": tag, **counts})


def _link_counts(workspace: Workspace, tag: Tag) -> dict[str, int]:
    return (
        selectors.tag_list(workspace=workspace)
        .filter(id=tag.id)
        .aggregate(
            feedback_count=Count("taggings", filter=Q(taggings__feedback__isnull=False)),
            highlight_count=Count("taggings", filter=Q(taggings__highlight__isnull=False)),
        )
    )


@workspace_view()
@require_http_methods(["GET", "POST"])
def tag_delete(request: HttpRequest, tag_id: int) -> HttpResponse:
    """GET asks, showing how many links go with the tag; POST deletes."""
    workspace = request.workspace
    tag = _tag(request, tag_id)
    if request.method == "POST":
        services.tag_delete(workspace=workspace, actor=request.user, tag=tag)
        messages.success(request, f"Tag {tag.name} deleted.")
        return redirect("discovery:tag-list", workspace_slug=workspace.slug)
    counts = _link_counts(workspace, tag)
    return render(request, "discovery/tag_delete.html", {"tag": tag, **counts})


urlpatterns = [
    path("tags/", tag_list, name="tag-list"),
    path("tags/new/", tag_new, name="tag-new"),
    path("tags/<int:tag_id>/", tag_detail, name="tag-detail"),
    path("tags/<int:tag_id>/edit/", tag_edit, name="tag-edit"),
    path("tags/<int:tag_id>/merge/", tag_merge, name="tag-merge"),
    path("tags/<int:tag_id>/delete/", tag_delete, name="tag-delete"),
]
