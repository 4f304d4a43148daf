"""One feedback item: its words with highlights in place, status, tags, insights; edit, delete."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from discovery import duplicates, selectors, services
from discovery.highlight_text import is_placed, marked_text
from discovery.interview_forms import FeedbackEditForm, LinkInsightForm, StatusForm, TagIdForm
from discovery.models import Feedback
from discovery.views.insights import backlog_links_context
from discovery.views.interviews import create_highlight_from_post
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view


class MergeForm(forms.Form):
    into = forms.IntegerField()


# The insights offered in "Link to insight": the most cited first; the insight page's own search
# reaches the rest.
LINKABLE_INSIGHTS = 200


def _detail_url(request: HttpRequest, feedback: Feedback) -> str:
    return reverse(
        "discovery:feedback-detail",
        kwargs={"workspace_slug": request.workspace.slug, "feedback_id": feedback.id},
    )


def _safe_external_url(url: str) -> str:
    """The link to the original, only when it is a web address (never javascript: or data:)."""
    return url if url.lower().startswith(("http://", "https://")) else ""


def _feedback(request: HttpRequest, feedback_id: int) -> Feedback:
    return object_or_404(
        selectors.feedback_get, workspace=request.workspace, feedback_id=feedback_id
    )


@workspace_view()
@require_GET
def feedback_detail(request: HttpRequest, feedback_id: int) -> HttpResponse:
    workspace = request.workspace
    feedback = _feedback(request, feedback_id)
    highlights = list(selectors.highlight_list(workspace=workspace, feedback=feedback))
    tags = list(selectors.tag_list(workspace=workspace))
    applied = selectors.tag_refs(list(feedback.taggings.all()))
    applied_ids = {t.id for t in applied}
    context: dict[str, Any] = {
        "feedback": feedback,
        "external_url": _safe_external_url(feedback.external_url),
        "marked": marked_text(feedback.text, highlights),
        "highlights": highlights,
        "needs_review": [h for h in highlights if not is_placed(h, feedback.text)],
        "applied_tags": applied,
        "suggestions": selectors.feedback_suggestions(
            workspace=workspace, feedback_ids=[feedback.id]
        )[feedback.id],
        "addable_tags": [t for t in tags if t.id not in applied_ids],
        "tags": tags,
        "insights": list(selectors.insight_list(workspace=workspace)[:LINKABLE_INSIGHTS]),
        "cited_in": list(feedback.evidence.select_related("insight").order_by("-id")),
        "statuses": Feedback.Status.choices,
        "highlight_create_url": reverse(
            "discovery:feedback-highlight-create",
            kwargs={"workspace_slug": workspace.slug, "feedback_id": feedback.id},
        ),
        "source_text": feedback.text,
        # A query only for a flagged item: the page's count stays pinned for the others.
        "duplicate_of": duplicates.duplicate_of_get(workspace=workspace, feedback=feedback),
        **backlog_links_context(request, feedback_id=feedback.id),
    }
    return render(request, "discovery/feedback_detail.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def feedback_edit(request: HttpRequest, feedback_id: int) -> HttpResponse:
    workspace = request.workspace
    feedback = _feedback(request, feedback_id)
    initial = {
        "text": feedback.text,
        "customer": feedback.customer_id,
        "external_url": feedback.external_url,
        "received_at": feedback.received_at,
    }
    form = FeedbackEditForm(request.POST or None, initial=initial, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            services.feedback_update(
                workspace=workspace,
                actor=request.user,
                feedback=feedback,
                **form.service_arguments(),
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Feedback saved.")
            return redirect(_detail_url(request, feedback))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "discovery/feedback_edit.html",
        {"form": form, "feedback": feedback},
        status=status,
    )


@workspace_view()
@require_POST
def feedback_delete(request: HttpRequest, feedback_id: int) -> HttpResponse:
    feedback = _feedback(request, feedback_id)
    services.feedback_delete(workspace=request.workspace, actor=request.user, feedback=feedback)
    messages.success(request, "Feedback deleted.")
    return redirect("discovery:index", workspace_slug=request.workspace.slug)


@workspace_view()
@require_POST
def feedback_status(request: HttpRequest, feedback_id: int) -> HttpResponse:
    feedback = _feedback(request, feedback_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose new, triaged or archived.")
    else:
        status = form.cleaned_data["status"]
        services.feedback_set_status(
            workspace=request.workspace,
            actor=request.user,
            feedback_ids=[feedback.id],
            status=status,
        )
        messages.success(request, f"Marked {Feedback.Status(status).label.lower()}.")
    return redirect(_detail_url(request, feedback))


def _tag_action(request: HttpRequest, feedback_id: int, *, add: bool) -> HttpResponse:
    feedback = _feedback(request, feedback_id)
    form = TagIdForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a tag.")
        return redirect(_detail_url(request, feedback))
    service = services.feedback_tag if add else services.feedback_untag
    try:
        service(
            workspace=request.workspace,
            actor=request.user,
            feedback_ids=[feedback.id],
            tag_id=form.cleaned_data["tag_id"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Tag added." if add else "Tag removed.")
    return redirect(_detail_url(request, feedback))


@workspace_view()
@require_POST
def feedback_tag(request: HttpRequest, feedback_id: int) -> HttpResponse:
    return _tag_action(request, feedback_id, add=True)


@workspace_view()
@require_POST
def feedback_untag(request: HttpRequest, feedback_id: int) -> HttpResponse:
    return _tag_action(request, feedback_id, add=False)


@workspace_view()
@require_POST
def feedback_link(request: HttpRequest, feedback_id: int) -> HttpResponse:
    feedback = _feedback(request, feedback_id)
    form = LinkInsightForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        messages.error(request, "Choose an insight of this workspace.")
        return redirect(_detail_url(request, feedback))
    insight = form.cleaned_data["insight_id"]
    try:
        services.evidence_add(
            workspace=request.workspace,
            actor=request.user,
            insight=insight,
            feedback=feedback,
            note=form.cleaned_data["note"],
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"Linked to “{insight.title}”.")
    return redirect(_detail_url(request, feedback))


@workspace_view()
@require_POST
def feedback_highlight_create(request: HttpRequest, feedback_id: int) -> HttpResponse:
    feedback = _feedback(request, feedback_id)
    return create_highlight_from_post(
        request, feedback=feedback, back_url=_detail_url(request, feedback)
    )


@workspace_view()
@require_POST
def feedback_merge(request: HttpRequest, feedback_id: int) -> HttpResponse:
    """Merge this item into the one it repeats (`into`); the kept item's page follows."""
    feedback = _feedback(request, feedback_id)
    form = MergeForm(request.POST)
    try:
        if not form.is_valid():
            raise Feedback.DoesNotExist
        into = selectors.feedback_get(
            workspace=request.workspace, feedback_id=form.cleaned_data["into"]
        )
    except Feedback.DoesNotExist:
        messages.error(request, "Choose a feedback item of this workspace to merge into.")
        return redirect(_detail_url(request, feedback))
    try:
        duplicates.feedback_merge(
            workspace=request.workspace, actor=request.user, duplicate=feedback, into=into
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect(_detail_url(request, feedback))
    messages.success(request, f"Feedback #{feedback.id} merged into this item.")
    return redirect(_detail_url(request, into))


@workspace_view()
@require_POST
def feedback_not_duplicate(request: HttpRequest, feedback_id: int) -> HttpResponse:
    feedback = _feedback(request, feedback_id)
    duplicates.feedback_duplicate_dismiss(
        workspace=request.workspace, actor=request.user, feedback=feedback
    )
    messages.success(request, "Marked as not a duplicate.")
    return redirect(_detail_url(request, feedback))


urlpatterns = [
    path("feedback/<int:feedback_id>/", feedback_detail, name="feedback-detail"),
    path("feedback/<int:feedback_id>/edit/", feedback_edit, name="feedback-edit"),
    path("feedback/<int:feedback_id>/delete/", feedback_delete, name="feedback-delete"),
    path("feedback/<int:feedback_id>/status/", feedback_status, name="feedback-status"),
    path("feedback/<int:feedback_id>/tag/", feedback_tag, name="feedback-tag"),
    path("feedback/<int:feedback_id>/untag/", feedback_untag, name="feedback-untag"),
    path("feedback/<int:feedback_id>/link/", feedback_link, name="feedback-link"),
    path(
        "feedback/<int:feedback_id>/highlights/",
        feedback_highlight_create,
        name="feedback-highlight-create",
    ),
    path("feedback/<int:feedback_id>/merge/", feedback_merge, name="feedback-merge"),
    path(
        "feedback/<int:feedback_id>/not-duplicate/",
        feedback_not_duplicate,
        name="feedback-not-duplicate",
    ),
]
