"""A document's history: every revision (who, when, why, restored from which), one revision
rendered, the diff between any two, and restoring an old one as a new revision."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from docs import selectors, services
from docs.diff import diff_texts
from docs.models import Document, Revision
from docs.references import document_html
from docs.services import StaleDocumentError
from pmhub.core.exceptions import ApplicationError
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role


def _document(request: HttpRequest, document_id: int) -> Document:
    return object_or_404(
        selectors.document_get, workspace=request.workspace, document_id=document_id
    )


def _revision(request: HttpRequest, document: Document, number: int) -> Revision:
    return object_or_404(
        selectors.revision_get, workspace=request.workspace, document=document, number=number
    )


def _can_edit(request: HttpRequest) -> bool:
    return request.membership.role in (Role.ADMIN, Role.EDITOR)


@workspace_view()
@require_GET
def document_history(request: HttpRequest, document_id: int) -> HttpResponse:
    """Revisions, newest first: 3 queries (membership, document, revisions with authors)."""
    document = _document(request, document_id)
    revisions = selectors.revision_list(workspace=request.workspace, document=document)
    context = {"document": document, "revisions": revisions, "can_restore": _can_edit(request)}
    return render(request, "docs/document_history.html", context)


@workspace_view()
@require_GET
def revision_detail(request: HttpRequest, document_id: int, number: int) -> HttpResponse:
    document = _document(request, document_id)
    revision = _revision(request, document, number)
    references = selectors.document_reference_list(workspace=request.workspace, document=document)
    context = {
        "document": document,
        "revision": revision,
        "body_html": document_html(
            workspace=request.workspace,
            body=revision.body,
            known_titles=selectors.known_titles(references),
        ),
        "previous": number - 1 if number > 1 else None,
        "can_restore": _can_edit(request) and number != document.version,
    }
    return render(request, "docs/revision_detail.html", context)


@workspace_view()
@require_GET
def revision_diff(
    request: HttpRequest, document_id: int, number: int, other_number: int
) -> HttpResponse:
    """From revision `number` to `other_number` (either order: the older is on the left)."""
    document = _document(request, document_id)
    a, b = request.GET.get("a", ""), request.GET.get("b", "")
    if a.isdigit() and b.isdigit():  # the compare form: two numbers chosen
        return redirect(
            "docs:revision-diff",
            workspace_slug=request.workspace.slug,
            document_id=document.id,
            number=min(int(a), int(b)),
            other_number=max(int(a), int(b)),
        )
    old = _revision(request, document, min(number, other_number))
    new = _revision(request, document, max(number, other_number))
    context = {
        "document": document,
        "old": old,
        "new": new,
        "diff": diff_texts(old.body, new.body),
        "title_changed": old.title != new.title,
        "numbers": list(range(document.version, 0, -1)),
    }
    return render(request, "docs/revision_diff.html", context)


@workspace_view()
@require_POST
def revision_restore(request: HttpRequest, document_id: int, number: int) -> HttpResponse:
    document = _document(request, document_id)
    base = request.POST.get("base_version", "")
    try:
        document = services.document_restore(
            workspace=request.workspace,
            actor=request.user,
            document=document,
            number=number,
            base_version=int(base) if base.isdigit() else document.version,
        )
    except StaleDocumentError:
        messages.error(
            request,
            "Someone saved this document while you were looking at its history; "
            "nothing was restored. Check the newest version, then restore again.",
        )
        return redirect(
            "docs:document-history",
            workspace_slug=request.workspace.slug,
            document_id=document.id,
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(
            request, exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
        )
        return redirect(
            "docs:document-history",
            workspace_slug=request.workspace.slug,
            document_id=document.id,
        )
    messages.success(request, f"Version {number} restored as version {document.version}.")
    return redirect(
        "docs:document-detail", workspace_slug=request.workspace.slug, document_id=document.id
    )


urlpatterns = [
    path("<int:document_id>/history/", document_history, name="document-history"),
    path("<int:document_id>/history/<int:number>/", revision_detail, name="revision-detail"),
    path(
        "<int:document_id>/history/<int:number>/diff/<int:other_number>/",
        revision_diff,
        name="revision-diff",
    ),
    path(
        "<int:document_id>/history/<int:number>/restore/",
        revision_restore,
        name="revision-restore",
    ),
]
