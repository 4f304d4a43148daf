"""Written artifacts: PRDs, briefs, user stories, decision records, stakeholder updates and
release notes, each a Markdown body with every save kept as a revision, reviewed by named
people, commented on at a quote, and citing the backlog and discovery live.

A document's `version` is the number of its newest revision: a save names the version it
started from and is refused when another save came first (nothing is lost: the refused text
goes back to its author beside the newer one). Live references in a body (`[[item:12]]`,
`[[insight:3]]`, `[[highlight:9]]`) are also kept as rows, so an item's page lists the
documents that discuss it and a deleted target still shows its last known title.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from pmhub.workspaces.models import WorkspaceOwnedModel

# A 50-page PRD is ~150,000 characters; a body is refused above this.
BODY_MAX_CHARS = 400_000
TITLE_MAX_CHARS = 200
SUMMARY_MAX_CHARS = 300
COMMENT_MAX_CHARS = 10_000
QUOTE_MAX_CHARS = 1_000


class Kind(models.TextChoices):
    PRD = "prd", "PRD"
    BRIEF = "brief", "Product brief"
    USER_STORIES = "user_stories", "User stories"
    DECISION = "decision", "Decision record"
    UPDATE = "update", "Stakeholder update"
    RELEASE_NOTES = "release_notes", "Release notes"


class DocumentTemplate(WorkspaceOwnedModel):
    """The starting text of a new document of its kind. Every workspace starts with one per
    kind (`is_default`), which it may edit; it can add its own."""

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True, max_length=BODY_MAX_CHARS)
    is_default = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="doctemplate_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Document(WorkspaceOwnedModel):
    Kind = Kind

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    class Decision(models.TextChoices):
        """A decision record's own state (blank for other kinds)."""

        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        SUPERSEDED = "superseded", "Superseded"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=TITLE_MAX_CHARS)
    body = models.TextField(blank=True, max_length=BODY_MAX_CHARS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # The newest revision's number: a save names the one it started from.
    version = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.ForeignKey(
        DocumentTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Release notes: the release they announce.
    release = models.ForeignKey(
        "roadmap.Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_status = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "kind", "status"], name="document_kind_status"),
            models.Index(fields=["workspace", "-updated_at", "id"], name="document_recent"),
            models.Index(
                fields=["workspace", "-published_at", "id"],
                name="document_changelog",
                condition=Q(kind="release_notes", status="published"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="decision") | Q(decision_status=""),
                name="document_decision_status_only_on_decisions",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Revision(WorkspaceOwnedModel):
    """One save of a document: its title and body as saved, by whom, with what summary."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=TITLE_MAX_CHARS)
    body = models.TextField(blank=True, max_length=BODY_MAX_CHARS)
    summary = models.CharField(max_length=SUMMARY_MAX_CHARS, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when this revision brought an older one's text back.
    restored_from = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="revision_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.number}"


class DocumentLink(WorkspaceOwnedModel):
    """A document linked by hand to the item, insight or release it concerns."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="links")
    item = models.ForeignKey(
        "backlog.Item", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    insight = models.ForeignKey(
        "discovery.Insight", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    release = models.ForeignKey(
        "roadmap.Release", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(item__isnull=False, insight__isnull=True, release__isnull=True)
                    | Q(item__isnull=True, insight__isnull=False, release__isnull=True)
                    | Q(item__isnull=True, insight__isnull=True, release__isnull=False)
                ),
                name="documentlink_one_target",
            ),
            models.UniqueConstraint(
                fields=["document", "item"], name="documentlink_unique_item",
                condition=Q(item__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["document", "insight"], name="documentlink_unique_insight",
                condition=Q(insight__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["document", "release"], name="documentlink_unique_release",
                condition=Q(release__isnull=False),
            ),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["workspace", "item"], name="documentlink_item"),
            models.Index(fields=["workspace", "insight"], name="documentlink_insight"),
        ]


class Reference(WorkspaceOwnedModel):
    """A live reference in a document's current body (`[[kind:id]]`), kept on save with the
    target's title then, so a deleted target shows as "deleted: <title>" and an item's page
    can list the documents citing it."""

    class Target(models.TextChoices):
        ITEM = "item", "Item"
        INSIGHT = "insight", "Insight"
        HIGHLIGHT = "highlight", "Highlight"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="references")
    target = models.CharField(max_length=10, choices=Target.choices)
    target_id = models.BigIntegerField()
    # The target's title when the body was saved; empty when it was not found in the workspace.
    title = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["document", "target", "target_id"], name="reference_unique_target"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "target", "target_id"], name="reference_target"),
        ]


class Reviewer(WorkspaceOwnedModel):
    class Verdict(models.TextChoices):
        PENDING = "pending", "Waiting"
        APPROVED = "approved", "Approved"
        CHANGES = "changes", "Changes requested"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="reviewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=8, choices=Verdict.choices, default=Verdict.PENDING)
    note = models.CharField(max_length=1_000, blank=True)
    # The document's version the verdict was given on.
    on_version = models.PositiveIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "user"], name="reviewer_unique_user"),
        ]


class Comment(WorkspaceOwnedModel):
    """A comment on a document, anchored to a quote of its text (empty: on the whole
    document), or a reply to another."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    quote = models.CharField(max_length=QUOTE_MAX_CHARS, blank=True)
    body = models.TextField(max_length=COMMENT_MAX_CHARS)
    on_version = models.PositiveIntegerField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "document", "created_at"], name="comment_document"),
        ]


class Mention(WorkspaceOwnedModel):
    """An @mention of a member in a comment; `notified_at` makes its email go once."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="mention_unique_user"),
        ]


class DocumentEvent(WorkspaceOwnedModel):
    """What happened to a document that others follow: submitted for review, approved,
    published, archived. The digests read these."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        SUBMITTED = "submitted", "Submitted for review"
        APPROVED = "approved", "Approved"
        CHANGES = "changes", "Changes requested"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"
        RESTORED = "restored", "Revision restored"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    on_version = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "created_at", "id"], name="documentevent_time"),
        ]


class Changelog(WorkspaceOwnedModel):
    """A workspace's public changelog: off until the workspace turns it on."""

    is_public = models.BooleanField(default=False)
    title = models.CharField(max_length=120, blank=True)
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="changelog_unique_workspace"),
        ]
