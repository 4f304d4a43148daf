"""Review on a document page: the reviewers and their verdicts, and the comment threads.

The document page includes `docs/_review_panel.html`, which loads the panel from `review-panel`
with htmx, so the page's own queries do not depend on the review's. Every form of the panel
posts with htmx and gets the panel back; without JavaScript it posts normally and is sent back
to the document.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from docs import review
from docs.models import COMMENT_MAX_CHARS, QUOTE_MAX_CHARS, Comment, Document, Reviewer
from pmhub.core.exceptions import ApplicationError
from pmhub.core.markdown import render_markdown
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_list

PANEL = "docs/_review_panel.html#panel"
# Viewers read and comment; whether they may resolve, delete or give a verdict the service
# decides (the comment's author, a reviewer).
COMMENTERS = {"POST": Role.VIEWER}


def _document(request: HttpRequest, document_id: int) -> Document:
    return object_or_404(
        review.review_document_get, workspace=request.workspace, document_id=document_id
    )


def _comment(request: HttpRequest, document: Document, comment_id: int) -> Comment:
    return object_or_404(
        review.comment_get, workspace=request.workspace, document=document, comment_id=comment_id
    )


def _can_edit(request: HttpRequest) -> bool:
    return request.membership.role in (Role.ADMIN, Role.EDITOR)


def _document_url(request: HttpRequest, document: Document, anchor: str = "review") -> str:
    kwargs = {"workspace_slug": request.workspace.slug, "document_id": document.id}
    try:
        url = reverse("docs:document-detail", kwargs=kwargs)
    except NoReverseMatch:  # the read view not mounted (yet): the panel alone
        url = reverse("docs:review-panel", kwargs=kwargs)
    return f"{url}#{anchor}" if anchor else url


def _message(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


def _panel_context(request: HttpRequest, document: Document, **overrides: Any) -> dict[str, Any]:
    workspace, user = request.workspace, request.user
    started = review.review_round_started(workspace=workspace, document=document)
    reviewers = review.reviewer_list(workspace=workspace, document=document, round_started=started)
    threads = review.comment_list(workspace=workspace, document=document)
    members = [m.user for m in membership_list(workspace=workspace)]
    mentions = _mention_pattern(members)
    for thread in threads:
        thread.body_html = _mark_mentions(render_markdown(thread.body), mentions)
        for reply in thread.thread_replies:
            reply.body_html = _mark_mentions(render_markdown(reply.body), mentions)
    can_edit = _can_edit(request)
    mine = next((r for r in reviewers if r.user_id == user.id), None)
    candidates: list[Any] = []
    if can_edit:
        taken = {r.user_id for r in reviewers}
        candidates = [person for person in members if person.id not in taken]
    approved = sum(r.current_verdict == Reviewer.Verdict.APPROVED for r in reviewers)
    context = {
        "document": document,
        "workspace": workspace,
        "reviewers": reviewers,
        "approved_count": approved,
        "my_review": mine,
        "can_give_verdict": mine is not None and document.status == Document.Status.IN_REVIEW,
        "candidates": candidates,
        "open_threads": [t for t in threads if t.resolved_at is None],
        "resolved_threads": [t for t in threads if t.resolved_at is not None],
        "comment_count": sum(1 + len(t.thread_replies) for t in threads),
        "can_edit": can_edit,
        "is_admin": request.membership.role == Role.ADMIN,
        "comment_max": COMMENT_MAX_CHARS,
        "quote_max": QUOTE_MAX_CHARS,
        "error": "",
        "form": {},
        # For the @mention suggestions of the comment box (docs_review.js).
        "mentionable": [
            {"name": person.display_name, "email": person.email}
            for person in members
            if person.id != user.id
        ],
    }
    context.update(overrides)
    return context


def _mention_pattern(members: list[Any]) -> re.Pattern[str] | None:
    """`@Name` or `@email` of any member, as the rendered (escaped) HTML spells it."""
    spellings = {
        escape(spelling)
        for person in members
        for spelling in (person.name.strip(), person.display_name, person.email)
        if spelling
    }
    if not spellings:
        return None
    names = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    return re.compile(rf"(?<![\w@])@(?:{names})(?![\w@-])(?!\.\w)", re.IGNORECASE)


def _mark_mentions(html: SafeString, pattern: re.Pattern[str] | None) -> SafeString:
    """Members' @mentions in a rendered comment drawn as mentions. Only text between tags is
    touched; the match is escaped text already, wrapped in markup of our own."""
    if pattern is None or "@" not in html:
        return html
    parts = re.split(r"(<[^>]*>)", str(html))
    for index, part in enumerate(parts):
        if part and not part.startswith("<") and "@" in part:
            parts[index] = pattern.sub(lambda m: f'<span class="mention">{m.group(0)}</span>', part)
    return mark_safe("".join(parts))  # noqa: S308 - sanitized by render_markdown; our span only


def _panel(request: HttpRequest, document: Document, status: int = 200, **overrides: Any):
    return render(request, PANEL, _panel_context(request, document, **overrides), status=status)


def _done(
    request: HttpRequest,
    document: Document,
    notice: str = "",
    *,
    refresh: bool = False,
    anchor: str = "review",
) -> HttpResponse:
    """After a change: the panel again (htmx), else back to the document."""
    if request.htmx:
        response = _panel(request, document)
        if refresh:  # the document's status moved: the page's header shows it
            response["HX-Refresh"] = "true"
        return response
    if notice:
        messages.success(request, notice)
    return redirect(_document_url(request, document, anchor))


def _refused(
    request: HttpRequest, document: Document, exc: ValidationError | ApplicationError, **form: Any
) -> HttpResponse:
    status = getattr(exc, "status_code", 400) if isinstance(exc, ApplicationError) else 400
    if request.htmx:
        return _panel(request, document, status=status, error=_message(exc), form=form)
    if status == 403:
        # Not a form to correct: a refusal, answered as one (not a redirect that looks done).
        raise PermissionDenied(_message(exc))
    messages.error(request, _message(exc))
    return redirect(_document_url(request, document))


@workspace_view()
@require_GET
def review_panel(request: HttpRequest, document_id: int) -> HttpResponse:
    return _panel(request, _document(request, document_id))


@workspace_view()
@require_POST
def reviewer_add(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    try:
        user_id = int(request.POST.get("user", ""))
    except ValueError:
        user_id = -1
    user = next(
        (
            m.user
            for m in membership_list(workspace=request.workspace).filter(user_id=user_id)
        ),
        None,
    )  # fmt: skip
    try:
        reviewer = review.reviewer_add(
            workspace=request.workspace, actor=request.user, document=document, user=user
        )
    except (ValidationError, ApplicationError) as exc:
        return _refused(request, document, exc)
    return _done(request, document, f"{reviewer.user.display_name} reviews this document.")


@workspace_view()
@require_POST
def reviewer_remove(request: HttpRequest, document_id: int, reviewer_id: int) -> HttpResponse:
    document = _document(request, document_id)
    before = document.status
    removed = review.reviewer_remove(
        workspace=request.workspace, document=document, reviewer_id=reviewer_id
    )
    document.refresh_from_db(fields=["status"])
    message = "Reviewer removed." if removed else "That reviewer was removed already."
    return _done(request, document, message, refresh=document.status != before)


@workspace_view(COMMENTERS)
@require_POST
def review_verdict(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    note = request.POST.get("note", "")
    before = document.status
    try:
        review.review_verdict(
            workspace=request.workspace, actor=request.user, document=document,
            verdict=request.POST.get("verdict", ""), note=note,
        )  # fmt: skip
    except (ValidationError, ApplicationError) as exc:
        return _refused(request, document, exc, note=note)
    document.refresh_from_db(fields=["status"])
    notice = {
        Document.Status.APPROVED: "Every reviewer approved: the document is approved.",
        Document.Status.DRAFT: "Changes requested: the document is back in draft.",
    }.get(document.status, "Your approval is recorded.")
    return _done(request, document, notice, refresh=document.status != before)


@workspace_view(COMMENTERS)
@require_POST
def comment_add(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    body, quote = request.POST.get("body", ""), request.POST.get("quote", "")
    try:
        parent_id = int(request.POST["parent"]) if request.POST.get("parent") else None
    except ValueError:
        parent_id = -1
    try:
        comment = review.comment_add(
            workspace=request.workspace, actor=request.user, document=document, body=body,
            quote=quote, parent_id=parent_id,
        )  # fmt: skip
    except (ValidationError, ApplicationError) as exc:
        # The text comes back in the form: nothing typed is lost.
        return _refused(request, document, exc, body=body, quote=quote, parent=parent_id)
    return _done(request, document, "Comment added.", anchor=f"comment-{comment.id}")


def _comment_action(request: HttpRequest, document_id: int, comment_id: int, action, notice: str):
    document = _document(request, document_id)
    comment = _comment(request, document, comment_id)
    try:
        action(workspace=request.workspace, actor=request.user, comment=comment)
    except (ValidationError, ApplicationError) as exc:
        return _refused(request, document, exc)
    return _done(request, document, notice)


@workspace_view(COMMENTERS)
@require_POST
def comment_resolve(request: HttpRequest, document_id: int, comment_id: int) -> HttpResponse:
    return _comment_action(
        request, document_id, comment_id, review.comment_resolve, "Comment resolved."
    )


@workspace_view(COMMENTERS)
@require_POST
def comment_reopen(request: HttpRequest, document_id: int, comment_id: int) -> HttpResponse:
    return _comment_action(
        request, document_id, comment_id, review.comment_reopen, "Comment reopened."
    )


@workspace_view(COMMENTERS)
@require_POST
def comment_delete(request: HttpRequest, document_id: int, comment_id: int) -> HttpResponse:
    return _comment_action(
        request, document_id, comment_id, review.comment_delete, "Comment deleted."
    )


urlpatterns = [
    path("<int:document_id>/review/", review_panel, name="review-panel"),
    path("<int:document_id>/review/verdict/", review_verdict, name="review-verdict"),
    path("<int:document_id>/reviewers/add/", reviewer_add, name="reviewer-add"),
    path(
        "<int:document_id>/reviewers/<int:reviewer_id>/remove/",
        reviewer_remove,
        name="reviewer-remove",
    ),
    path("<int:document_id>/comments/add/", comment_add, name="comment-add"),
    path(
        "<int:document_id>/comments/<int:comment_id>/resolve/",
        comment_resolve,
        name="comment-resolve",
    ),
    path(
        "<int:document_id>/comments/<int:comment_id>/reopen/",
        comment_reopen,
        name="comment-reopen",
    ),
    path(
        "<int:document_id>/comments/<int:comment_id>/delete/",
        comment_delete,
        name="comment-delete",
    ),
]
