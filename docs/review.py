"""Review of a document: its reviewers and their verdicts, comments anchored to a quote of its
text with @mentions of members, and the mention emails.

A review round starts when the document is submitted for review (a SUBMITTED event). A verdict
counts only in the round it was given in: submitting the document again (after changes were
requested, or after it went back to draft) sets every reviewer back to waiting, without anyone
having to write to their rows (`reviewer_effective_verdict`). When every reviewer approved in
the current round the document becomes approved; one "changes requested" sends it back to draft.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from docs.models import (
    COMMENT_MAX_CHARS,
    QUOTE_MAX_CHARS,
    Comment,
    Document,
    DocumentEvent,
    Mention,
    Reviewer,
)
from docs.services import DocumentGoneError, document_set_status
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import Membership, Workspace
from pmhub.workspaces.roles import Role

if TYPE_CHECKING:
    from pmhub.accounts.models import User

NOTE_MAX_CHARS = 1_000
# The same comment sent again within this window (a double click, a resent form) is one comment.
DUPLICATE_WINDOW = timedelta(seconds=10)
VERDICTS = (Reviewer.Verdict.APPROVED, Reviewer.Verdict.CHANGES)


class NotAReviewerError(ApplicationError):
    status_code = 403


class CommentPermissionError(ApplicationError):
    status_code = 403


# --- selectors ---------------------------------------------------------------------------------
def review_document_get(*, workspace: Workspace, document_id: int) -> Document:
    """One document of the workspace; DoesNotExist for any other id."""
    return Document.objects.for_workspace(workspace).get(id=document_id)


def review_round_started(*, workspace: Workspace, document: Document) -> datetime | None:
    """When the document was last submitted for review (None: never)."""
    return (
        DocumentEvent.objects.for_workspace(workspace)
        .filter(document_id=document.id, kind=DocumentEvent.Kind.SUBMITTED)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )


def reviewer_effective_verdict(reviewer: Reviewer, round_started: datetime | None) -> str:
    """The reviewer's verdict in the current round: one given before the latest submission is
    stale, and reads as waiting."""
    if reviewer.verdict == Reviewer.Verdict.PENDING or reviewer.decided_at is None:
        return Reviewer.Verdict.PENDING
    if round_started is not None and reviewer.decided_at < round_started:
        return Reviewer.Verdict.PENDING
    return reviewer.verdict


def reviewer_list(
    *, workspace: Workspace, document: Document, round_started: datetime | None = None
) -> list[Reviewer]:
    """The document's reviewers with their user (one query), each with `current_verdict` (the
    verdict of this round) and `stale_verdict` (the verdict given in an earlier round). Someone
    who left the workspace reviews no more: they neither show nor hold the approval back."""
    reviewers = list(
        Reviewer.objects.for_workspace(workspace)
        .filter(document_id=document.id, user__memberships__workspace=workspace)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    for reviewer in reviewers:
        reviewer.current_verdict = reviewer_effective_verdict(reviewer, round_started)
        reviewer.stale_verdict = (
            reviewer.verdict
            if reviewer.current_verdict != reviewer.verdict
            else ""
        )  # fmt: skip
    return reviewers


def review_waiting_on(*, workspace: Workspace, document: Document) -> list[Reviewer]:
    """The reviewers who have not approved the document in this round (empty: nothing holds
    its approval back). For a status control that should not approve over its reviewers."""
    started = review_round_started(workspace=workspace, document=document)
    return [
        r
        for r in reviewer_list(workspace=workspace, document=document, round_started=started)
        if r.current_verdict != Reviewer.Verdict.APPROVED
    ]


def comment_list(*, workspace: Workspace, document: Document) -> list[Comment]:
    """The document's threads, oldest first: each top-level comment with `thread_replies` (its
    replies, oldest first). One query."""
    comments = list(
        Comment.objects.for_workspace(workspace)
        .filter(document_id=document.id)
        .select_related("author", "resolved_by")
        .order_by("created_at", "id")
    )
    roots: dict[int, Comment] = {}
    for comment in comments:
        if comment.parent_id is None:
            comment.thread_replies = []
            roots[comment.id] = comment
    for comment in comments:
        if comment.parent_id is not None and comment.parent_id in roots:
            roots[comment.parent_id].thread_replies.append(comment)
    return list(roots.values())


def comment_get(*, workspace: Workspace, document: Document, comment_id: int) -> Comment:
    return (
        Comment.objects.for_workspace(workspace)
        .select_related("author")
        .get(document_id=document.id, id=comment_id)
    )


def decision_records_for_item(*, workspace: Workspace, item_id: int) -> list[Document]:
    """The decision records concerning an item: linked to it, or citing it (`[[item:12]]`),
    each with the record superseding it. One query."""
    from django.db.models import Q

    from docs.models import DocumentLink, Reference

    linked = DocumentLink.objects.for_workspace(workspace).filter(item_id=item_id)
    cited = Reference.objects.for_workspace(workspace).filter(
        target=Reference.Target.ITEM, target_id=item_id
    )
    return list(
        Document.objects.for_workspace(workspace)
        .filter(kind=Document.Kind.DECISION)
        .filter(Q(id__in=linked.values("document_id")) | Q(id__in=cited.values("document_id")))
        .select_related("superseded_by")
        .only(
            "id",
            "title",
            "status",
            "decision_status",
            "updated_at",
            "superseded_by__id",
            "superseded_by__title",
        )  # fmt: skip
        .order_by("-updated_at", "-id")
    )


def _role_of(workspace: Workspace, user: User) -> str | None:
    return (
        Membership.objects.for_workspace(workspace)
        .filter(user_id=user.id)
        .values_list("role", flat=True)
        .first()
    )


# --- reviewers ---------------------------------------------------------------------------------
@transaction.atomic
def reviewer_add(*, workspace: Workspace, actor: User | None, document: Document, user) -> Reviewer:
    """Ask a member to review the document (idempotent: the same member twice is one reviewer)."""
    if user is None or _role_of(workspace, user) is None:
        raise ValidationError({"user": "Only members of this workspace can review."})
    if not Document.objects.for_workspace(workspace).filter(id=document.id).exists():
        raise DocumentGoneError("This document was deleted.")
    reviewer, _ = Reviewer.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, document_id=document.id, user_id=user.id
    )
    return reviewer


@transaction.atomic
def reviewer_remove(*, workspace: Workspace, document: Document, reviewer_id: int) -> bool:
    """Remove a reviewer. When the others all approved this round, the document is approved.
    False when the reviewer was gone already (a second click)."""
    document = Document.objects.for_workspace(workspace).select_for_update().get(id=document.id)
    deleted, _ = (
        Reviewer.objects.for_workspace(workspace)
        .filter(document_id=document.id, id=reviewer_id)
        .delete()
    )
    if deleted:
        _approve_when_all_approved(workspace, None, document)
    return bool(deleted)


def _approve_when_all_approved(
    workspace: Workspace, actor: User | None, document: Document
) -> bool:
    if document.status != Document.Status.IN_REVIEW:
        return False
    started = review_round_started(workspace=workspace, document=document)
    reviewers = reviewer_list(workspace=workspace, document=document, round_started=started)
    if reviewers and all(r.current_verdict == Reviewer.Verdict.APPROVED for r in reviewers):
        document_set_status(
            workspace=workspace, actor=actor, document=document, status=Document.Status.APPROVED
        )
        return True
    return False


@transaction.atomic
def review_verdict(
    *, workspace: Workspace, actor: User, document: Document, verdict: str, note: str = ""
) -> Reviewer:
    """The actor's verdict on the document in review. Only its reviewers give one. Every
    reviewer approved (this round): the document is approved. Changes requested: it goes back
    to draft, with a CHANGES event."""
    if verdict not in VERDICTS:
        raise ValidationError({"verdict": "Approve, or request changes."})
    note = " ".join((note or "").split())
    if len(note) > NOTE_MAX_CHARS:
        raise ValidationError({"note": f"Keep the note under {NOTE_MAX_CHARS:,} characters."})
    try:
        document = Document.objects.for_workspace(workspace).select_for_update().get(id=document.id)
    except Document.DoesNotExist:
        raise DocumentGoneError("This document was deleted.") from None
    reviewer = (
        Reviewer.objects.for_workspace(workspace)
        .select_for_update()
        .filter(document_id=document.id, user_id=actor.id)
        .first()
    )
    if reviewer is None:
        raise NotAReviewerError("Only the document's reviewers give a verdict.")
    if document.status != Document.Status.IN_REVIEW:
        if (
            reviewer.verdict == verdict
            and reviewer.decided_at is not None
            and reviewer.decided_at >= timezone.now() - DUPLICATE_WINDOW
        ):
            return reviewer  # the same verdict sent twice: the first already moved the document
        raise ApplicationError(
            f"This document is {document.get_status_display().lower()}, not in review: "
            "verdicts are given once it is submitted for review."
        )
    reviewer.verdict, reviewer.note = verdict, note
    reviewer.on_version, reviewer.decided_at = document.version, timezone.now()
    reviewer.save(update_fields=["verdict", "note", "on_version", "decided_at", "updated_at"])
    if verdict == Reviewer.Verdict.CHANGES:
        document_set_status(
            workspace=workspace, actor=actor, document=document, status=Document.Status.DRAFT
        )
        DocumentEvent.objects.create(
            workspace=workspace, document=document, kind=DocumentEvent.Kind.CHANGES,
            actor=actor, on_version=document.version,
        )  # fmt: skip
    else:
        _approve_when_all_approved(workspace, actor, document)
    return reviewer


# --- comments ----------------------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w@])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


def mentioned_members(*, workspace: Workspace, body: str) -> list[User]:
    """The members a comment mentions, by `@email` or `@Name` (their name, or the part of their
    email before the @ when they have no name). Anyone else is no one: nothing is created."""
    if "@" not in body:
        return []
    emails = {m.group(1).lower() for m in _EMAIL.finditer(body)}
    found: dict[int, User] = {}
    members = [
        m.user
        for m in Membership.objects.for_workspace(workspace)
        .select_related("user")
        .filter(user__is_active=True)
    ]
    for user in members:
        if user.email.lower() in emails:
            found[user.id] = user
            continue
        for name in {user.name.strip(), user.display_name.strip()} - {""}:
            # "@Bob," and "@Bob." mention Bob; "@Bobby" and "@bob.smith" do not.
            pattern = rf"(?<![\w@])@{re.escape(name)}(?![\w@-])(?!\.\w)"
            if re.search(pattern, body, flags=re.IGNORECASE):
                found[user.id] = user
                break
    return list(found.values())


def _clean_comment(body: str, quote: str) -> tuple[str, str]:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError({"body": "Write a comment."})
    if len(body) > COMMENT_MAX_CHARS:
        raise ValidationError(
            {"body": f"A comment holds at most {COMMENT_MAX_CHARS:,} characters; this has "
                     f"{len(body):,}."}
        )  # fmt: skip
    quote = " ".join((quote or "").split())
    if len(quote) > QUOTE_MAX_CHARS:
        raise ValidationError(
            {"quote": f"Quote at most {QUOTE_MAX_CHARS:,} characters: select a shorter passage."}
        )
    return body, quote


@transaction.atomic
def comment_add(
    *,
    workspace: Workspace,
    actor: User,
    document: Document,
    body: str,
    quote: str = "",
    parent_id: int | None = None,
) -> Comment:
    """A comment on the document (at `quote`, or on the whole), or a reply to a thread (replies
    are one level deep: a reply to a reply joins its thread, and carries no quote). The members
    it @mentions get one email each, sent after commit. The same comment again from the same
    author within a few seconds (a form sent twice) is the first one."""
    body, quote = _clean_comment(body, quote)
    try:
        # Locked so that two sends of the same form are serialized and the second sees the first.
        document = Document.objects.for_workspace(workspace).select_for_update().get(id=document.id)
    except Document.DoesNotExist:
        raise DocumentGoneError("This document was deleted.") from None
    parent = None
    if parent_id is not None:
        parent = (
            Comment.objects.for_workspace(workspace)
            .filter(document_id=document.id, id=parent_id)
            .first()
        )
        if parent is None:
            raise DocumentGoneError("The comment you replied to was deleted.")
        if parent.parent_id is not None:
            parent = (
                Comment.objects.for_workspace(workspace).filter(id=parent.parent_id).first()
                or parent
            )
        quote = ""
    duplicate = (
        Comment.objects.for_workspace(workspace)
        .filter(
            document_id=document.id,
            author_id=actor.id,
            body=body,
            quote=quote,
            parent_id=parent.id if parent else None,
            created_at__gte=timezone.now() - DUPLICATE_WINDOW,
        )  # fmt: skip
        .order_by("-created_at")
        .first()
    )
    if duplicate is not None:
        return duplicate
    comment = Comment.objects.create(
        workspace=workspace, document=document, author=actor, parent=parent, quote=quote,
        body=body, on_version=document.version,
    )  # fmt: skip
    mentioned = [u for u in mentioned_members(workspace=workspace, body=body) if u.id != actor.id]
    if mentioned:
        Mention.objects.bulk_create(
            Mention(workspace=workspace, comment=comment, user=user) for user in mentioned
        )
        from docs.tasks import comment_mentions_notify_task

        comment_mentions_notify_task.delay_on_commit(
            workspace_id=workspace.id, comment_id=comment.id
        )
    return comment


def _may_moderate(workspace: Workspace, actor: User, comment: Comment) -> bool:
    if comment.author_id == actor.id:
        return True
    return _role_of(workspace, actor) in (Role.ADMIN, Role.EDITOR)


@transaction.atomic
def comment_resolve(*, workspace: Workspace, actor: User, comment: Comment) -> Comment:
    """Mark a thread resolved (its author or an editor). Resolving it again changes nothing."""
    if comment.parent_id is not None:
        raise ApplicationError("Resolve the thread, not a reply.")
    if not _may_moderate(workspace, actor, comment):
        raise CommentPermissionError("Only its author or an editor resolves a comment.")
    comment = Comment.objects.for_workspace(workspace).select_for_update().get(id=comment.id)
    if comment.resolved_at is None:
        comment.resolved_at, comment.resolved_by = timezone.now(), actor
        comment.save(update_fields=["resolved_at", "resolved_by", "updated_at"])
    return comment


@transaction.atomic
def comment_reopen(*, workspace: Workspace, actor: User, comment: Comment) -> Comment:
    if not _may_moderate(workspace, actor, comment):
        raise CommentPermissionError("Only its author or an editor reopens a comment.")
    comment = Comment.objects.for_workspace(workspace).select_for_update().get(id=comment.id)
    if comment.resolved_at is not None:
        comment.resolved_at, comment.resolved_by = None, None
        comment.save(update_fields=["resolved_at", "resolved_by", "updated_at"])
    return comment


def comment_delete(*, workspace: Workspace, actor: User, comment: Comment) -> None:
    """Delete a comment (with its replies): its author or an admin."""
    if comment.author_id != actor.id and _role_of(workspace, actor) != Role.ADMIN:
        raise CommentPermissionError("Only its author or an admin deletes a comment.")
    Comment.objects.for_workspace(workspace).filter(id=comment.id).delete()


# --- mention emails ----------------------------------------------------------------------------
def comment_url(comment: Comment) -> str:
    from django.conf import settings

    path = reverse(
        "docs:document-detail",
        kwargs={"workspace_slug": comment.workspace.slug, "document_id": comment.document_id},
    )
    return f"{settings.PMHUB_BASE_URL}{path}#comment-{comment.id}"


def mention_emails_send(*, workspace: Workspace, comment_id: int) -> int:
    """Email each member the comment mentions, once. Returns how many mails went out.

    Idempotent by a status guard under a row lock: each mention is claimed with
    `select_for_update(skip_locked=True)` where `notified_at` is empty, mailed, then stamped in
    the same transaction; a second run (or a concurrent one) finds nothing to claim. A failed
    send rolls its mention back to unsent, for the task's retry.
    """
    from pmhub.core.email import email_send
    from pmhub.core.markdown import render_markdown

    mention_ids = list(
        Mention.objects.for_workspace(workspace)
        .filter(comment_id=comment_id, notified_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    sent = 0
    for mention_id in mention_ids:
        with transaction.atomic():
            mention = (
                Mention.objects.for_workspace(workspace)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("user", "comment__author", "comment__document", "workspace")
                .filter(id=mention_id, notified_at__isnull=True)
                .first()
            )
            if mention is None:
                continue
            if _role_of(workspace, mention.user) is None:  # left the workspace since
                mention.notified_at = timezone.now()
                mention.save(update_fields=["notified_at", "updated_at"])
                continue
            comment = mention.comment
            comment.workspace = mention.workspace
            author = comment.author.display_name if comment.author else "Someone"
            email_send(
                to=[mention.user.email],
                subject=f"{author} mentioned you on “{comment.document.title}”",
                template="emails/docs_mention",
                context={
                    "author": author,
                    "comment": comment,
                    "comment_html": render_markdown(comment.body),
                    "document": comment.document,
                    "workspace": mention.workspace,
                    "url": comment_url(comment),
                    "user": mention.user,
                },
            )
            mention.notified_at = timezone.now()
            mention.save(update_fields=["notified_at", "updated_at"])
            sent += 1
    return sent
