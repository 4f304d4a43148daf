"""Document pages: the list, a new document from a template, the read view with its side
panel (status, owner, decision, links, references), the editor with its live preview and `[[`
autocomplete, and the Markdown download. Every write goes through docs.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from docs import selectors, services
from docs.models import BODY_MAX_CHARS, SUMMARY_MAX_CHARS, TITLE_MAX_CHARS, Document, Kind
from docs.references import chip_html, document_html, references_read
from docs.services import StaleDocumentError
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_list

REVIEW_PANEL = "docs/_review_panel.html"


# --- forms -------------------------------------------------------------------------------------
class DocumentNewForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.PRD, widget=forms.RadioSelect)
    template = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Start from"
    )
    title = forms.CharField(max_length=TITLE_MAX_CHARS, widget=forms.TextInput())

    def __init__(self, *args: Any, templates: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [
            ("", "A blank page"),
            *((t.id, f"{t.get_kind_display()} — {t.name}") for t in templates),
        ]


class DocumentEditForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX_CHARS)
    # The service says how large a body may be (its message names the limit and the size).
    body = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 24}))
    summary = forms.CharField(
        required=False,
        max_length=SUMMARY_MAX_CHARS,
        label="What changed",
        help_text="One line for the history, e.g. “Scope: exports to S3 only”.",
    )
    base_version = forms.IntegerField(widget=forms.HiddenInput)


# --- helpers -----------------------------------------------------------------------------------
def _can_edit(request: HttpRequest) -> bool:
    return request.membership.role in (Role.ADMIN, Role.EDITOR)


def _document(request: HttpRequest, document_id: int) -> Document:
    return object_or_404(
        selectors.document_get, workspace=request.workspace, document_id=document_id
    )


def _detail_url(request: HttpRequest, document_id: int, anchor: str = "") -> str:
    url = reverse(
        "docs:document-detail",
        kwargs={"workspace_slug": request.workspace.slug, "document_id": document_id},
    )
    return f"{url}#{anchor}" if anchor else url


def _message(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


def _posted_int(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _body_html(request: HttpRequest, document: Document, body: str | None = None) -> Any:
    references = selectors.document_reference_list(workspace=request.workspace, document=document)
    return document_html(
        workspace=request.workspace,
        body=document.body if body is None else body,
        known_titles=selectors.known_titles(references),
    )


def _review_panel_exists() -> bool:
    try:
        select_template([REVIEW_PANEL])
    except TemplateDoesNotExist:
        return False
    return True


# --- list --------------------------------------------------------------------------------------
@workspace_view()
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Documents, newest edit first: 3 queries (membership, the page of documents with their
    owners, the members for the owner filter)."""
    get = request.GET
    kind = get.get("kind", "") if get.get("kind", "") in Kind.values else ""
    status = get.get("status", "") if get.get("status", "") in Document.Status.values else ""
    owner = get.get("owner", "")
    owner_id = int(owner) if owner.isdigit() else None
    query = get.get("q", "")[:200]
    page = int(get["page"]) if get.get("page", "").isdigit() else 1
    filters = selectors.DocumentFilters(kind=kind, status=status, owner_id=owner_id, query=query)
    documents, has_next = selectors.document_page(
        workspace=request.workspace, filters=filters, page=page
    )
    filtered = bool(kind or status or owner_id or query.strip())
    context = {
        "documents": documents,
        "page": page,
        "has_next": has_next,
        "has_previous": page > 1,
        "kind": kind,
        "status": status,
        "owner_id": owner_id,
        "query": query,
        "filtered": filtered,
        "kinds": Kind.choices,
        "statuses": Document.Status.choices,
        "members": list(membership_list(workspace=request.workspace)),
    }
    return render(request, "docs/index.html", context)


# --- new ---------------------------------------------------------------------------------------
@workspace_view({"GET": Role.EDITOR})
@require_http_methods(["GET", "POST"])
def document_new(request: HttpRequest) -> HttpResponse:
    templates = services.templates_ensure(workspace=request.workspace)
    initial: dict[str, Any] = {}
    if request.GET.get("kind") in Kind.values:
        initial["kind"] = request.GET["kind"]
    default = {t.kind: t.id for t in templates if t.is_default}
    chosen = next((t for t in templates if str(t.id) == request.GET.get("template")), None)
    if chosen is not None:  # "Use" on the templates page
        initial["kind"], initial["template"] = chosen.kind, chosen.id
    initial.setdefault("kind", Kind.PRD)
    initial.setdefault("template", default.get(initial["kind"]))
    form = DocumentNewForm(request.POST or None, templates=templates, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        by_id = {t.id: t for t in templates}
        template = by_id.get(data["template"]) if data["template"] else None
        if data["template"] and template is None:
            form.add_error("template", "That template is gone; choose another.")
        else:
            try:
                document = services.document_create(
                    workspace=request.workspace,
                    actor=request.user,
                    kind=data["kind"],
                    title=data["title"],
                    template=template,
                )
            except (ValidationError, ApplicationError) as exc:
                form_add_service_error(form, exc)
            else:
                messages.success(request, f"“{document.title}” created.")
                return redirect(
                    "docs:document-edit",
                    workspace_slug=request.workspace.slug,
                    document_id=document.id,
                )
    context = {
        "form": form,
        "templates": templates,
        "default_templates": default,
    }
    return render(request, "docs/document_new.html", context, status=400 if form.is_bound else 200)


# --- detail ------------------------------------------------------------------------------------
_MOVE_LABELS = {
    Document.Status.DRAFT: "Back to draft",
    Document.Status.IN_REVIEW: "Submit for review",
    Document.Status.APPROVED: "Approve",
    Document.Status.PUBLISHED: "Publish",
    Document.Status.ARCHIVED: "Archive",
}


def _moves(document: Document) -> list[tuple[str, str]]:
    allowed = services.document_status_moves(document)
    return [(s, label) for s, label in _MOVE_LABELS.items() if s in allowed]


def _detail_context(request: HttpRequest, document: Document, **overrides: Any) -> dict[str, Any]:
    workspace = request.workspace
    references = selectors.document_reference_list(workspace=workspace, document=document)
    known = selectors.known_titles(references)
    keys = [(r.target, r.target_id) for r in references]
    # Read once for the Referenced list and the body (which cites what the rows list).
    read = references_read(workspace=workspace, references=keys) if keys else ({}, "")
    targets = read[0]
    can_edit = _can_edit(request)
    find = request.GET.get("find", "")[:200]
    context: dict[str, Any] = {
        "document": document,
        "body_html": document_html(
            workspace=workspace, body=document.body, known_titles=known, read=read
        ),
        # chip_html escapes every value it draws (html_text): its markup is ours.
        "referenced": [
            mark_safe(chip_html(key, targets.get(key), known_title=known.get(key, "")))  # noqa: S308
            for key in keys
        ],
        "links": selectors.document_link_list(workspace=workspace, document=document),
        "moves": _moves(document) if can_edit else [],
        "members": list(membership_list(workspace=workspace)) if can_edit else [],
        "decisions": (
            selectors.decision_list(workspace=workspace, exclude_id=document.id)
            if can_edit and document.kind == Kind.DECISION
            else []
        ),
        "decision_choices": Document.Decision.choices,
        "find": find,
        "link_options": (
            selectors.reference_search(workspace=workspace, query=find, releases=True)
            if can_edit and find
            else []
        ),
        "link_error": "",
        "has_review_panel": _review_panel_exists(),
    }
    context.update(overrides)
    return context


def _detail(request: HttpRequest, document: Document, status: int = 200, **overrides: Any):
    context = _detail_context(request, document, **overrides)
    return render(request, "docs/document_detail.html", context, status=status)


@workspace_view()
@require_GET
def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    return _detail(request, _document(request, document_id))


@workspace_view()
@require_POST
def document_status(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    try:
        document = services.document_set_status(
            workspace=request.workspace,
            actor=request.user,
            document=document,
            status=request.POST.get("status", ""),
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, f"Status: {document.get_status_display()}.")
    return redirect(_detail_url(request, document.id))


@workspace_view()
@require_POST
def document_details(request: HttpRequest, document_id: int) -> HttpResponse:
    """The owner and, for a decision record, its decision and the record superseding it."""
    document = _document(request, document_id)
    workspace = request.workspace
    changes: dict[str, Any] = {}
    if "owner" in request.POST:
        owner_id = _posted_int(request, "owner")
        owner = None
        if owner_id is not None:
            members = {m.user_id: m.user for m in membership_list(workspace=workspace)}
            owner = members.get(owner_id)
            if owner is None:
                messages.error(request, "Choose a member of this workspace as the owner.")
                return redirect(_detail_url(request, document.id))
        changes["owner"] = owner
    if document.kind == Kind.DECISION and "decision_status" in request.POST:
        changes["decision_status"] = request.POST.get("decision_status", "")
        superseded_id = _posted_int(request, "superseded_by")
        superseded = None
        if superseded_id is not None:
            try:
                superseded = selectors.document_get(workspace=workspace, document_id=superseded_id)
            except ObjectDoesNotExist:
                messages.error(request, "Choose a decision record of this workspace.")
                return redirect(_detail_url(request, document.id))
        changes["superseded_by"] = superseded
    try:
        services.document_update_details(workspace=workspace, document=document, **changes)
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Details saved.")
    return redirect(_detail_url(request, document.id))


@workspace_view()
@require_POST
def document_link_add(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    kind = request.POST.get("kind", "")
    target_id = _posted_int(request, "target_id")
    if kind not in ("item", "insight", "release") or target_id is None:
        return _detail(request, document, 400, link_error="Choose an item, insight or release.")
    try:
        services.document_link_add(
            workspace=request.workspace, document=document, **{f"{kind}_id": target_id}
        )
    except (ValidationError, ApplicationError) as exc:
        return _detail(request, document, 400, link_error=_message(exc))
    messages.success(request, f"Linked the {kind}.")
    return redirect(_detail_url(request, document.id, "links"))


@workspace_view()
@require_POST
def document_link_remove(request: HttpRequest, document_id: int, link_id: int) -> HttpResponse:
    document = _document(request, document_id)
    if services.document_link_remove(
        workspace=request.workspace, document=document, link_id=link_id
    ):
        messages.success(request, "Link removed.")
    else:
        messages.info(request, "That link was removed already.")
    return redirect(_detail_url(request, document.id, "links"))


@workspace_view()
@require_POST
def document_delete(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    services.document_delete(workspace=request.workspace, document=document)
    messages.success(request, f"“{document.title}” deleted.")
    return redirect("docs:index", workspace_slug=request.workspace.slug)


@workspace_view()
@require_GET
def document_export(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    name = slugify(document.title) or f"document-{document.id}"
    text = f"# {document.title}\n\n{document.body}"
    if not text.endswith("\n"):
        text += "\n"
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.md"'
    return response


# --- editor ------------------------------------------------------------------------------------
def _edit(
    request: HttpRequest,
    document: Document,
    form: DocumentEditForm,
    status: int = 200,
    conflict: dict[str, Any] | None = None,
) -> HttpResponse:
    body = form["body"].value() or ""
    context = {
        "document": document,
        "form": form,
        "conflict": conflict,
        "body_max": BODY_MAX_CHARS,
        # The preview of the text in the editor, so it shows before the first keystroke.
        "preview_html": _body_html(request, document, body) if len(body) <= BODY_MAX_CHARS else "",
    }
    return render(request, "docs/document_edit.html", context, status=status)


@workspace_view({"GET": Role.EDITOR})
@require_http_methods(["GET", "POST"])
def document_edit(request: HttpRequest, document_id: int) -> HttpResponse:
    """The editor. A save begun on an older version is refused by the service: the editor
    comes back with their newer text beside the person's own (still in the textarea) and
    `base_version` moved to theirs, so saving again after merging goes through."""
    document = _document(request, document_id)
    if request.method == "GET":
        form = DocumentEditForm(
            initial={
                "title": document.title,
                "body": document.body,
                "base_version": document.version,
            }
        )
        return _edit(request, document, form)
    form = DocumentEditForm(request.POST)
    if not form.is_valid():
        return _edit(request, document, form, 400)
    data = form.cleaned_data
    try:
        saved = services.document_save(
            workspace=request.workspace,
            actor=request.user,
            document=document,
            base_version=data["base_version"],
            title=data["title"],
            body=data["body"],
            summary=data["summary"],
        )
    except StaleDocumentError as exc:
        extra = exc.extra or {}
        post = request.POST.copy()
        post["base_version"] = str(extra.get("version", document.version))
        form = DocumentEditForm(post)
        form.is_valid()
        conflict = {
            "message": exc.message,
            "version": extra.get("version"),
            "title": extra.get("title", ""),
            "body": extra.get("body", ""),
            "html": _body_html(request, document, extra.get("body", "")),
        }
        return _edit(request, document, form, 409, conflict)
    except (ValidationError, ApplicationError) as exc:
        form_add_service_error(form, exc)
        return _edit(request, document, form, 400)
    if saved.version == data["base_version"]:
        messages.info(request, "Nothing changed since the last save.")
    else:
        messages.success(request, f"Saved as version {saved.version}.")
    return redirect(_detail_url(request, document.id))


@workspace_view()
@require_POST
def document_preview(request: HttpRequest, document_id: int) -> HttpResponse:
    """The posted body rendered as the document page renders it (an HTML fragment)."""
    document = _document(request, document_id)
    body = request.POST.get("body", "")
    if len(body) > BODY_MAX_CHARS:
        return HttpResponse(
            f'<p class="doc-preview__error">Too long to preview: {len(body):,} characters '
            f"(at most {BODY_MAX_CHARS:,}).</p>",
            status=400,
        )
    return HttpResponse(_body_html(request, document, body))


@workspace_view()
@require_GET
def reference_search(request: HttpRequest) -> HttpResponse:
    """The `[[` autocomplete: items, insights and highlights matching `q`, as JSON."""
    matches = selectors.reference_search(
        workspace=request.workspace, query=request.GET.get("q", "")
    )
    return JsonResponse(
        {
            "results": [
                {
                    "kind": m.kind,
                    "id": m.id,
                    "title": m.title,
                    "status": m.status,
                    "ref": m.ref,
                }
                for m in matches
            ]
        }
    )


urlpatterns = [
    path("", index, name="index"),
    path("new/", document_new, name="document-new"),
    path("references/", reference_search, name="reference-search"),
    path("<int:document_id>/", document_detail, name="document-detail"),
    path("<int:document_id>/edit/", document_edit, name="document-edit"),
    path("<int:document_id>/preview/", document_preview, name="document-preview"),
    path("<int:document_id>/status/", document_status, name="document-status"),
    path("<int:document_id>/details/", document_details, name="document-details"),
    path("<int:document_id>/links/", document_link_add, name="document-link-add"),
    path(
        "<int:document_id>/links/<int:link_id>/remove/",
        document_link_remove,
        name="document-link-remove",
    ),
    path("<int:document_id>/export/", document_export, name="document-export"),
    path("<int:document_id>/delete/", document_delete, name="document-delete"),
]
