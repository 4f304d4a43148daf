"""The one write path for documents, their templates, revisions, links and status.

Every save is a revision. A save names the version it began from; when another save came
first it is refused (StaleDocumentError, 412 in the API, a conflict page in the UI) with the
newer text in its `extra`, and the refused text is never written over anyone's: the caller
gives it back to its author to merge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from docs.defaults import DEFAULT_TEMPLATES
from docs.models import (
    BODY_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    Document,
    DocumentEvent,
    DocumentLink,
    DocumentTemplate,
    Kind,
    Reference,
    Revision,
)
from docs.references import targets_read
from pmhub.core.exceptions import ApplicationError
from pmhub.core.markdown import references_in
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

MAX_REFERENCES = 2_000


class StaleDocumentError(ApplicationError):
    """The document changed since this edit began. `extra`: the newer version, title and body.
    The API: 412."""

    status_code = 412


class DocumentGoneError(ApplicationError):
    status_code = 404


# --- templates ---------------------------------------------------------------------------------
def templates_ensure(*, workspace: Workspace) -> list[DocumentTemplate]:
    """The shipped template of each kind, created once per workspace (idempotent; a template
    the workspace edited or renamed is left as it is)."""
    existing = set(
        DocumentTemplate.objects.for_workspace(workspace)
        .filter(is_default=True)
        .values_list("kind", flat=True)
    )
    for kind, (name, description, body) in DEFAULT_TEMPLATES.items():
        if kind in existing:
            continue
        try:
            with transaction.atomic():
                DocumentTemplate.objects.create(
                    workspace=workspace, kind=kind, name=name, description=description,
                    body=body, is_default=True,
                )  # fmt: skip
        except IntegrityError:  # a concurrent ensure, or a template of the workspace's own name
            continue
    return list(DocumentTemplate.objects.for_workspace(workspace).order_by("kind", "name"))


def _clean_kind(kind: str) -> str:
    if kind not in Kind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(Kind.values)}."})
    return kind


def _clean_title(title: str, field: str = "title") -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({field: "Give it a title."})
    if len(title) > TITLE_MAX_CHARS:
        raise ValidationError({field: f"Keep it under {TITLE_MAX_CHARS} characters."})
    return title


def _clean_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n")
    if len(body) > BODY_MAX_CHARS:
        raise ValidationError(
            {"body": f"A document holds at most {BODY_MAX_CHARS:,} characters; this has "
                     f"{len(body):,}. Split it, or move the appendix to its own document."}
        )  # fmt: skip
    return body


def _clean_release_id(workspace: Workspace, release_id: int | None) -> int | None:
    """A release id from a form or the API, refused unless it is this workspace's."""
    from roadmap.models import Release

    if release_id is not None and not (
        Release.objects.for_workspace(workspace).filter(id=release_id).exists()
    ):
        raise ValidationError({"release_id": "Choose a release of this workspace."})
    return release_id


def _clean_owner(workspace: Workspace, owner: User | None) -> User | None:
    """An owner, refused unless they are a member of this workspace."""
    from pmhub.workspaces.models import Membership

    if owner is not None and not (
        Membership.objects.for_workspace(workspace).filter(user_id=owner.id).exists()
    ):
        raise ValidationError({"owner": "Choose a member of this workspace."})
    return owner


def template_create(
    *, workspace: Workspace, kind: str, name: str, body: str, description: str = ""
) -> DocumentTemplate:
    name = _clean_title(name, "name")
    try:
        with transaction.atomic():
            return DocumentTemplate.objects.create(
                workspace=workspace, kind=_clean_kind(kind), name=name,
                description=(description or "")[:300], body=_clean_body(body),
            )  # fmt: skip
    except IntegrityError:
        raise ValidationError({"name": f"There is already a template named “{name}”."}) from None


@transaction.atomic
def template_update(
    *, workspace: Workspace, template: DocumentTemplate, version: int | None = None, **changes: Any
) -> DocumentTemplate:
    template = (
        DocumentTemplate.objects.for_workspace(workspace).select_for_update().get(id=template.id)
    )
    if version is not None and template.version != version:
        raise StaleDocumentError(
            "Someone changed this template after you opened it. Reload, then apply yours again.",
            extra={"version": template.version},
        )
    if "name" in changes:
        changes["name"] = _clean_title(changes["name"], "name")
    if "kind" in changes:
        changes["kind"] = _clean_kind(changes["kind"])
    if "body" in changes:
        changes["body"] = _clean_body(changes["body"])
    if "description" in changes:
        changes["description"] = (changes["description"] or "")[:300]
    for field, value in changes.items():
        setattr(template, field, value)
    template.version += 1
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise ValidationError(
            {"name": f"There is already a template named “{changes.get('name')}”."}
        ) from None
    return template


def template_delete(*, workspace: Workspace, template: DocumentTemplate) -> None:
    DocumentTemplate.objects.for_workspace(workspace).filter(id=template.id).delete()


# --- documents ---------------------------------------------------------------------------------
def _references_sync(workspace: Workspace, document: Document) -> None:
    """The document's Reference rows as its body cites them now, each with the target's title
    (kept, so a target deleted later still reads by name)."""
    found = references_in(document.body)[:MAX_REFERENCES]
    targets = targets_read(workspace=workspace, references=found)
    rows = Reference.objects.for_workspace(workspace).filter(document=document)
    # A target deleted since an earlier save keeps the title that save found.
    kept = {(r.target, r.target_id): r.title for r in rows.only("target", "target_id", "title")}
    rows.delete()
    Reference.objects.bulk_create(
        Reference(
            workspace=workspace, document=document, target=kind, target_id=target_id,
            title=(
                targets[(kind, target_id)].title[:300] if (kind, target_id) in targets
                else kept.get((kind, target_id), "")
            ),
        )
        for kind, target_id in found
    )  # fmt: skip


def _event(workspace: Workspace, document: Document, kind: str, actor: User | None) -> None:
    DocumentEvent.objects.create(
        workspace=workspace, document=document, kind=kind, actor=actor, on_version=document.version
    )


@transaction.atomic
def document_create(
    *,
    workspace: Workspace,
    actor: User | None,
    kind: str,
    title: str,
    body: str | None = None,
    template: DocumentTemplate | None = None,
    owner: User | None = None,
    release_id: int | None = None,
) -> Document:
    """A new document, its first revision. Its body: `body` when given, else `template`'s."""
    kind = _clean_kind(kind)
    if template is not None and template.workspace_id != workspace.id:
        raise DocumentGoneError("That template is not in this workspace.")
    text = body if body is not None else (template.body if template is not None else "")
    owner, release_id = _clean_owner(workspace, owner), _clean_release_id(workspace, release_id)
    document = Document.objects.create(
        workspace=workspace, kind=kind, title=_clean_title(title), body=_clean_body(text),
        owner=owner or actor, created_by=actor, template=template, release_id=release_id,
        decision_status=Document.Decision.PROPOSED if kind == Kind.DECISION else "",
    )  # fmt: skip
    Revision.objects.create(
        workspace=workspace, document=document, number=1, title=document.title,
        body=document.body, summary="Created", author=actor,
    )  # fmt: skip
    _references_sync(workspace, document)
    _event(workspace, document, DocumentEvent.Kind.CREATED, actor)
    return document


def _locked(workspace: Workspace, document_id: int) -> Document:
    try:
        return Document.objects.for_workspace(workspace).select_for_update().get(id=document_id)
    except Document.DoesNotExist:
        raise DocumentGoneError("This document was deleted.") from None


@transaction.atomic
def document_save(
    *,
    workspace: Workspace,
    actor: User | None,
    document: Document,
    base_version: int,
    title: str,
    body: str,
    summary: str = "",
    restored_from: int | None = None,
) -> Document:
    """Save a new title and body as the next revision. Begun on `base_version` but another save
    came since: refused (StaleDocumentError, its `extra` the newer version's number, title,
    body and author) and nothing is written. The same text again: no new revision."""
    document = _locked(workspace, document.id)
    title, body = _clean_title(title), _clean_body(body)
    if document.version != base_version:
        newest = (
            Revision.objects.for_workspace(workspace)
            .filter(document=document, number=document.version)
            .select_related("author")
            .first()
        )
        author = newest.author if newest is not None else None
        raise StaleDocumentError(
            f"{author.name or author.email if author else 'Someone'} saved this document after "
            "you opened it. Your text is kept below: merge it with theirs, then save again.",
            extra={"version": document.version, "title": document.title, "body": document.body},
        )
    if title == document.title and body == document.body and restored_from is None:
        return document
    document.title, document.body = title, body
    document.version += 1
    document.save(update_fields=["title", "body", "version", "updated_at"])
    Revision.objects.create(
        workspace=workspace, document=document, number=document.version, title=title, body=body,
        summary=" ".join((summary or "").split())[:SUMMARY_MAX_CHARS], author=actor,
        restored_from=restored_from,
    )  # fmt: skip
    _references_sync(workspace, document)
    return document


def document_restore(
    *, workspace: Workspace, actor: User | None, document: Document, number: int, base_version: int
) -> Document:
    """Bring revision `number`'s text back as a new revision (history is never rewritten)."""
    revision = (
        Revision.objects.for_workspace(workspace)
        .filter(document_id=document.id, number=number)
        .first()
    )
    if revision is None:
        raise DocumentGoneError(f"This document has no version {number}.")
    with transaction.atomic():
        document = document_save(
            workspace=workspace, actor=actor, document=document, base_version=base_version,
            title=revision.title, body=revision.body, summary=f"Restored version {number}",
            restored_from=number,
        )  # fmt: skip
        _event(workspace, document, DocumentEvent.Kind.RESTORED, actor)
    return document


# Who may move a document where: draft → in review → approved → published; archived from
# anywhere and back to draft; changes requested sends a review back to draft.
_MOVES = {
    Document.Status.DRAFT: {Document.Status.IN_REVIEW, Document.Status.ARCHIVED},
    Document.Status.IN_REVIEW: {
        Document.Status.DRAFT, Document.Status.APPROVED, Document.Status.ARCHIVED,
    },
    Document.Status.APPROVED: {
        Document.Status.PUBLISHED, Document.Status.DRAFT, Document.Status.ARCHIVED,
    },
    Document.Status.PUBLISHED: {Document.Status.ARCHIVED, Document.Status.DRAFT},
    Document.Status.ARCHIVED: {Document.Status.DRAFT},
}  # fmt: skip


def document_status_moves(document: Document) -> set[str]:
    """The statuses the document may move to from its own (the workflow's one table)."""
    return set(_MOVES.get(document.status, set()))


_STATUS_EVENTS = {
    Document.Status.IN_REVIEW: DocumentEvent.Kind.SUBMITTED,
    Document.Status.APPROVED: DocumentEvent.Kind.APPROVED,
    Document.Status.PUBLISHED: DocumentEvent.Kind.PUBLISHED,
    Document.Status.ARCHIVED: DocumentEvent.Kind.ARCHIVED,
}


@transaction.atomic
def document_set_status(
    *, workspace: Workspace, actor: User | None, document: Document, status: str
) -> Document:
    """Move the document along its workflow; a move the workflow has no arrow for is refused.
    The same status again changes nothing (a second submission of the same form)."""
    document = _locked(workspace, document.id)
    if status not in Document.Status.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(Document.Status.values)}."})
    if status == document.status:
        return document
    if status not in _MOVES[document.status]:
        raise ApplicationError(
            f"A document {document.get_status_display().lower()} cannot become "
            f"{Document.Status(status).label.lower()}."
        )
    if status == Document.Status.APPROVED:
        from docs.review import review_waiting_on  # review builds on these services

        waiting = review_waiting_on(workspace=workspace, document=document)
        if waiting:
            names = ", ".join(r.user.name or r.user.email for r in waiting)
            raise ApplicationError(
                f"Waiting on {names}: a document with reviewers is approved by their verdicts."
            )
    document.status = status
    fields = ["status", "updated_at"]
    if status == Document.Status.PUBLISHED and document.published_at is None:
        document.published_at = timezone.now()
        fields.append("published_at")
    document.save(update_fields=fields)
    if status in _STATUS_EVENTS:
        _event(workspace, document, _STATUS_EVENTS[status], actor)
    if status == Document.Status.PUBLISHED and document.kind == Kind.RELEASE_NOTES:
        # Stakeholders who chose "immediately" hear of release notes at once.
        from pmhub.digests.tasks import digests_immediate_task

        digests_immediate_task.delay_on_commit(
            workspace_id=workspace.id, kind="release_notes", object_id=document.id
        )
    return document


@transaction.atomic
def document_update_details(
    *, workspace: Workspace, document: Document, **changes: Any
) -> Document:
    """The document's owner, release and, for decision records, its decision status and the
    record superseding it (set together: superseded needs the newer record)."""
    document = _locked(workspace, document.id)
    allowed = {"owner", "release_id", "decision_status", "superseded_by"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    if "owner" in changes:
        changes["owner"] = _clean_owner(workspace, changes["owner"])
    if "release_id" in changes:
        changes["release_id"] = _clean_release_id(workspace, changes["release_id"])
    decision = changes.get("decision_status", document.decision_status)
    superseded_by = changes.get("superseded_by", document.superseded_by)
    if "decision_status" in changes or "superseded_by" in changes:
        if document.kind != Kind.DECISION:
            raise ValidationError({"decision_status": "Only decision records have a decision."})
        if decision not in Document.Decision.values:
            raise ValidationError({"decision_status": "Choose proposed, accepted or superseded."})
        if decision == Document.Decision.SUPERSEDED:
            if superseded_by is None:
                raise ValidationError({"superseded_by": "Name the record that supersedes it."})
            if superseded_by.workspace_id != workspace.id or superseded_by.kind != Kind.DECISION:
                raise ValidationError(
                    {"superseded_by": "Choose a decision record of this workspace."}
                )
            if superseded_by.id == document.id:
                raise ValidationError({"superseded_by": "A record cannot supersede itself."})
        else:
            superseded_by = None
        changes["decision_status"], changes["superseded_by"] = decision, superseded_by
    for field, value in changes.items():
        setattr(document, field, value)
    document.save()
    return document


def document_delete(*, workspace: Workspace, document: Document) -> None:
    Document.objects.for_workspace(workspace).filter(id=document.id).delete()


# --- links ---------------------------------------------------------------------------------------
def document_link_add(
    *,
    workspace: Workspace,
    document: Document,
    item_id: int | None = None,
    insight_id: int | None = None,
    release_id: int | None = None,
) -> DocumentLink:
    """Link the document to one item, insight or release of its workspace (idempotent)."""
    from backlog.models import Item
    from discovery.models import Insight
    from roadmap.models import Release

    given = [
        (field, model, value)
        for field, model, value in (
            ("item", Item, item_id), ("insight", Insight, insight_id),
            ("release", Release, release_id),
        )
        if value is not None
    ]  # fmt: skip
    if len(given) != 1:
        raise ValidationError("Link one item, insight or release at a time.")
    field, model, value = given[0]
    if not model.objects.for_workspace(workspace).filter(id=value).exists():
        raise DocumentGoneError(f"No such {field} in this workspace.")
    link, _ = DocumentLink.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, document=document, **{f"{field}_id": value}
    )
    return link


def document_link_remove(*, workspace: Workspace, document: Document, link_id: int) -> bool:
    """Remove one link of the document; False when it was gone already (a second click)."""
    deleted, _ = (
        DocumentLink.objects.for_workspace(workspace).filter(document=document, id=link_id).delete()
    )
    return bool(deleted)
