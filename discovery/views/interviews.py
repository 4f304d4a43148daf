"""Interviews (list, new, page, edit) and highlights on transcripts and feedback texts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from discovery import selectors, services
from discovery.highlight_text import is_placed, marked_text
from discovery.interview_forms import HighlightForm, InterviewEditForm, InterviewForm, TagIdForm
from discovery.models import Feedback, Highlight, Interview
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view

PAGE_SIZE = 50


def _interview_url(workspace_slug: str, interview_id: int) -> str:
    return reverse(
        "discovery:interview-detail",
        kwargs={"workspace_slug": workspace_slug, "interview_id": interview_id},
    )


def _highlight_parent_url(request: HttpRequest, highlight: Highlight) -> str:
    slug = request.workspace.slug
    if highlight.interview_id:
        return _interview_url(slug, highlight.interview_id)
    return reverse(
        "discovery:feedback-detail",
        kwargs={"workspace_slug": slug, "feedback_id": highlight.feedback_id},
    )


@workspace_view()
@require_GET
def interview_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    interviews = (
        selectors.interview_list(workspace=workspace)
        .annotate(highlight_count=Count("highlights"))
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=selectors.customer_list(workspace=workspace),
                to_attr="people",
            )
        )
        .defer("transcript", "notes", "search_vector")
    )
    page = Paginator(interviews, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "discovery/interview_list.html", {"page": page})


@workspace_view()
@require_http_methods(["GET", "POST"])
def interview_new(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = InterviewForm(request.POST or None, request.FILES or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        try:
            interview = services.interview_create(
                workspace=workspace, actor=request.user, **form.service_arguments()
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Interview “{interview.title}” saved.")
            return redirect(_interview_url(workspace.slug, interview.id))
    return render(
        request,
        "discovery/interview_form.html",
        {"form": form, "interview": None},
        status=400 if request.method == "POST" else 200,
    )


@workspace_view()
@require_GET
def interview_detail(request: HttpRequest, interview_id: int) -> HttpResponse:
    workspace = request.workspace
    interview = object_or_404(
        selectors.interview_get, workspace=workspace, interview_id=interview_id
    )
    highlights = list(selectors.highlight_list(workspace=workspace, interview=interview))
    context: dict[str, Any] = {
        "interview": interview,
        "marked": marked_text(interview.transcript, highlights),
        "highlights": highlights,
        "needs_review": [h for h in highlights if not is_placed(h, interview.transcript)],
        "participants": list(
            selectors.customer_list(workspace=workspace).filter(interviews=interview)
        ),
        "tags": list(selectors.tag_list(workspace=workspace)),
        "highlight_create_url": reverse(
            "discovery:highlight-create",
            kwargs={"workspace_slug": workspace.slug, "interview_id": interview.id},
        ),
        "source_text": interview.transcript,
    }
    return render(request, "discovery/interview_detail.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def interview_edit(request: HttpRequest, interview_id: int) -> HttpResponse:
    workspace = request.workspace
    interview = object_or_404(
        selectors.interview_get, workspace=workspace, interview_id=interview_id
    )
    initial = {
        "title": interview.title,
        "held_on": interview.held_on,
        "transcript": interview.transcript,
        "notes": interview.notes,
        "version": interview.version,
        "participants": list(
            selectors.customer_list(workspace=workspace)
            .filter(interviews=interview)
            .values_list("id", flat=True)
        ),
    }
    form = InterviewEditForm(
        request.POST or None, request.FILES or None, initial=initial, workspace=workspace
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.interview_update(
                workspace=workspace,
                actor=request.user,
                interview=interview,
                **form.service_arguments(),
            )
        except services.StaleEditError as exc:
            # Keep every word the person typed; show what was saved meanwhile; a second save on
            # purpose (with the current version) then wins.
            conflict = object_or_404(
                selectors.interview_get, workspace=workspace, interview_id=interview_id
            )
            data = request.POST.copy()
            data["transcript"] = form.cleaned_data["transcript"]
            data["version"] = str(conflict.version)
            form = InterviewEditForm(data, initial=initial, workspace=workspace)
            form.is_valid()
            form_add_service_error(form, exc)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Interview saved.")
            return redirect(_interview_url(workspace.slug, interview.id))
    return render(
        request,
        "discovery/interview_form.html",
        {"form": form, "interview": interview, "conflict": conflict},
        status=(409 if conflict else 400) if request.method == "POST" else 200,
    )


@workspace_view()
@require_POST
def interview_delete(request: HttpRequest, interview_id: int) -> HttpResponse:
    interview = object_or_404(
        selectors.interview_get, workspace=request.workspace, interview_id=interview_id
    )
    services.interview_delete(workspace=request.workspace, actor=request.user, interview=interview)
    messages.success(request, f"Interview “{interview.title}” deleted.")
    return redirect("discovery:interview-list", workspace_slug=request.workspace.slug)


def create_highlight_from_post(
    request: HttpRequest,
    *,
    back_url: str,
    interview: Interview | None = None,
    feedback: Feedback | None = None,
) -> HttpResponse:
    """Create a highlight from a form post (popover or the offsets fallback), then go back."""
    form = HighlightForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        messages.error(
            request,
            "The highlight was not saved: give a start and an end position, and tags of this "
            "workspace.",
        )
        return redirect(back_url)
    try:
        highlight = services.highlight_create(
            workspace=request.workspace,
            actor=request.user,
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
            interview=interview,
            feedback=feedback,
            tag_ids=form.cleaned_data["tag_ids"],
            quote=form.cleaned_data["quote"] or None,
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, "The highlight was not saved. " + " ".join(_messages_of(exc)))
        return redirect(back_url)
    messages.success(request, "Highlight saved.")
    return redirect(f"{back_url}#highlight-{highlight.id}")


def _messages_of(exc: ValidationError | ApplicationError) -> list[str]:
    return [exc.message] if isinstance(exc, ApplicationError) else exc.messages


@workspace_view()
@require_POST
def highlight_create(request: HttpRequest, interview_id: int) -> HttpResponse:
    slug = request.workspace.slug
    interview = object_or_404(
        selectors.interview_get, workspace=request.workspace, interview_id=interview_id
    )
    return create_highlight_from_post(
        request, interview=interview, back_url=_interview_url(slug, interview.id)
    )


def _highlight(request: HttpRequest, highlight_id: int) -> Highlight:
    return object_or_404(
        selectors.highlight_get, workspace=request.workspace, highlight_id=highlight_id
    )


@workspace_view()
@require_GET
def highlight_open(request: HttpRequest, highlight_id: int) -> HttpResponse:
    """A highlight's permanent link: its transcript or feedback page, scrolled to it."""
    highlight = _highlight(request, highlight_id)
    return redirect(f"{_highlight_parent_url(request, highlight)}#highlight-{highlight.id}")


@workspace_view()
@require_POST
def highlight_delete(request: HttpRequest, highlight_id: int) -> HttpResponse:
    highlight = _highlight(request, highlight_id)
    back = _highlight_parent_url(request, highlight)
    services.highlight_delete(workspace=request.workspace, actor=request.user, highlight=highlight)
    messages.success(request, "Highlight deleted.")
    return redirect(back)


def _highlight_tag_action(request: HttpRequest, highlight_id: int, *, add: bool) -> HttpResponse:
    highlight = _highlight(request, highlight_id)
    back = f"{_highlight_parent_url(request, highlight)}#highlight-{highlight.id}"
    form = TagIdForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a tag.")
        return redirect(back)
    try:
        if add:
            services.highlight_tag(
                workspace=request.workspace,
                actor=request.user,
                highlight=highlight,
                tag_id=form.cleaned_data["tag_id"],
            )
        else:
            services.highlight_untag(
                workspace=request.workspace,
                actor=request.user,
                highlight=highlight,
                tag_id=form.cleaned_data["tag_id"],
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Tag added." if add else "Tag removed.")
    return redirect(back)


@workspace_view()
@require_POST
def highlight_tag(request: HttpRequest, highlight_id: int) -> HttpResponse:
    return _highlight_tag_action(request, highlight_id, add=True)


@workspace_view()
@require_POST
def highlight_untag(request: HttpRequest, highlight_id: int) -> HttpResponse:
    return _highlight_tag_action(request, highlight_id, add=False)


urlpatterns = [
    path("interviews/", interview_list, name="interview-list"),
    path("interviews/new/", interview_new, name="interview-new"),
    path("interviews/<int:interview_id>/", interview_detail, name="interview-detail"),
    path("interviews/<int:interview_id>/edit/", interview_edit, name="interview-edit"),
    path("interviews/<int:interview_id>/delete/", interview_delete, name="interview-delete"),
    path("interviews/<int:interview_id>/highlights/", highlight_create, name="highlight-create"),
    path("highlights/<int:highlight_id>/", highlight_open, name="highlight-open"),
    path("highlights/<int:highlight_id>/delete/", highlight_delete, name="highlight-delete"),
    path("highlights/<int:highlight_id>/tag/", highlight_tag, name="highlight-tag"),
    path("highlights/<int:highlight_id>/untag/", highlight_untag, name="highlight-untag"),
]
