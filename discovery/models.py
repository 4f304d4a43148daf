"""Discovery: companies, customers, feedback, interviews, highlights, tags and insights."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Lower

from discovery.querysets import FeedbackQuerySet
from pmhub.workspaces.models import WorkspaceOwnedModel

# Longest text accepted in one feedback item or transcript; anything longer is refused, not cut.
FEEDBACK_MAX_CHARS = 20_000
TRANSCRIPT_MAX_CHARS = 500_000
SEARCH_CONFIG = "english"


def search_vector_of(*fields: str) -> models.GeneratedField:
    """A stored tsvector kept current by PostgreSQL itself on every insert and update."""
    return models.GeneratedField(
        expression=SearchVector(*fields, config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )


class Company(WorkspaceOwnedModel):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True)
    arr = models.DecimalField("ARR", max_digits=14, decimal_places=2, null=True, blank=True)
    plan = models.CharField(max_length=80, blank=True)
    segment = models.CharField(max_length=80, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                "workspace",
                Lower("domain"),
                condition=~models.Q(domain=""),
                name="company_unique_domain",
            ),
        ]
        indexes = [
            GinIndex(name="company_name_trgm", fields=["name"], opclasses=["gin_trgm_ops"]),
            models.Index(fields=["workspace", "segment"], name="company_ws_segment"),
        ]

    def __str__(self) -> str:
        return self.name


class Customer(WorkspaceOwnedModel):
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "workspace",
                Lower("email"),
                condition=~models.Q(email=""),
                name="customer_unique_email",
            ),
        ]
        indexes = [
            GinIndex(name="customer_name_trgm", fields=["name"], opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Customer {self.pk}"


class Feedback(WorkspaceOwnedModel):
    class Source(models.TextChoices):
        SUPPORT = "support", "Support"
        SALES = "sales", "Sales"
        SURVEY = "survey", "Survey"
        APP_REVIEW = "app_review", "App review"
        EMAIL = "email", "Email"
        INTERVIEW = "interview", "Interview"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        NEW = "new", "New"
        TRIAGED = "triaged", "Triaged"
        ARCHIVED = "archived", "Archived"

    text = models.TextField()
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=200, blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    # Copied from the customer on write so that inbox filters by company or segment need no join.
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    received_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    search_vector = search_vector_of("text")
    # A person said no tag fits this item: an "out of scope" example for the classifier.
    no_tag_fits = models.BooleanField(default=False, db_default=False)
    # Flagged by the worker: the same customer said nearly the same thing in this earlier item.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A person said it is not a duplicate: the worker does not flag it again.
    duplicate_dismissed = models.BooleanField(default=False, db_default=False)
    # Set when merged: the item that now carries this one's links; this one stays archived so
    # that re-importing its external id updates it instead of creating it again.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = FeedbackQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "feedback"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"],
                condition=~models.Q(external_id=""),
                name="feedback_unique_external_id",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["new", "triaged", "archived"]),
                name="feedback_status_valid",
            ),
        ]
        indexes = [
            # The inbox: one workspace, one status, newest first, keyset on (received_at, id).
            models.Index(
                fields=["workspace", "status", "-received_at", "-id"], name="feedback_inbox"
            ),
            models.Index(fields=["workspace", "-received_at", "-id"], name="feedback_recent"),
            GinIndex(fields=["search_vector"], name="feedback_search"),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class Tag(WorkspaceOwnedModel):
    name = models.CharField(max_length=60)
    group = models.CharField(max_length=40, blank=True)
    color = models.CharField(max_length=7, default="#6366f1")
    description = models.TextField(blank=True, max_length=2000)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="tag_unique_name"),
            models.CheckConstraint(
                condition=models.Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="tag_color_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Interview(WorkspaceOwnedModel):
    title = models.CharField(max_length=200)
    held_on = models.DateField(null=True, blank=True)
    participants = models.ManyToManyField(
        Customer, through="InterviewParticipant", related_name="interviews", blank=True
    )
    transcript = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    search_vector = search_vector_of("title", "transcript", "notes")

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "-held_on", "-id"], name="interview_recent"),
            GinIndex(fields=["search_vector"], name="interview_search"),
        ]

    def __str__(self) -> str:
        return self.title


class InterviewParticipant(WorkspaceOwnedModel):
    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["interview", "customer"], name="interview_participant_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.interview_id}"


class Highlight(WorkspaceOwnedModel):
    """A span of an interview transcript or of a feedback text, with the words it covers.

    `quote` is the truth: when the text is edited, the span is found again by its quote, or the
    highlight is flagged `needs_review` (it never silently points at other words).
    """

    interview = models.ForeignKey(
        Interview, null=True, blank=True, on_delete=models.CASCADE, related_name="highlights"
    )
    feedback = models.ForeignKey(
        Feedback, null=True, blank=True, on_delete=models.CASCADE, related_name="highlights"
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    quote = models.TextField()
    needs_review = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    search_vector = search_vector_of("quote")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(interview__isnull=False, feedback__isnull=True)
                    | models.Q(interview__isnull=True, feedback__isnull=False)
                ),
                name="highlight_one_source",
            ),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="highlight_span_not_empty"
            ),
        ]
        indexes = [GinIndex(fields=["search_vector"], name="highlight_search")]

    def __str__(self) -> str:
        return self.quote[:80]


class Tagging(WorkspaceOwnedModel):
    """A tag on a feedback item or a highlight, with where it came from."""

    class Origin(models.TextChoices):
        PERSON = "person", "Person"
        RULE = "rule", "Rule"
        MODEL = "model", "Model"

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="taggings")
    feedback = models.ForeignKey(
        Feedback, null=True, blank=True, on_delete=models.CASCADE, related_name="taggings"
    )
    highlight = models.ForeignKey(
        Highlight, null=True, blank=True, on_delete=models.CASCADE, related_name="taggings"
    )
    origin = models.CharField(max_length=6, choices=Origin.choices, default=Origin.PERSON)
    confidence = models.FloatField(null=True, blank=True)
    # Which classifier version applied a "model" tagging, for the quality report and re-tags.
    model_version = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(feedback__isnull=False, highlight__isnull=True)
                    | models.Q(feedback__isnull=True, highlight__isnull=False)
                ),
                name="tagging_one_target",
            ),
            # One tagging per item, tag and origin: a person may confirm what a rule found.
            models.UniqueConstraint(
                fields=["tag", "feedback", "origin"],
                condition=models.Q(feedback__isnull=False),
                name="tagging_unique_feedback",
            ),
            models.UniqueConstraint(
                fields=["tag", "highlight", "origin"],
                condition=models.Q(highlight__isnull=False),
                name="tagging_unique_highlight",
            ),
            models.CheckConstraint(
                condition=models.Q(origin__in=["person", "rule", "model"]),
                name="tagging_origin_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "tag", "feedback"], name="tagging_tag_feedback"),
        ]

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.feedback_id or self.highlight_id}"


class Insight(WorkspaceOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        VALIDATED = "validated", "Validated"
        ARCHIVED = "archived", "Archived"

    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, max_length=FEEDBACK_MAX_CHARS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # When it last became validated: the digests announce insights validated since the last one.
    validated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Reach, stored and kept current by the evidence services so lists never count on the fly.
    evidence_count = models.PositiveIntegerField(default=0)
    customer_count = models.PositiveIntegerField(default=0)
    company_count = models.PositiveIntegerField(default=0)
    arr = models.DecimalField("ARR", max_digits=16, decimal_places=2, default=0)
    search_vector = search_vector_of("title", "summary")

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "status", "-id"], name="insight_ws_status"),
            GinIndex(fields=["search_vector"], name="insight_search"),
        ]

    def __str__(self) -> str:
        return self.title


class Evidence(WorkspaceOwnedModel):
    """An insight citing a feedback item or a highlight."""

    insight = models.ForeignKey(Insight, on_delete=models.CASCADE, related_name="evidence")
    feedback = models.ForeignKey(
        Feedback, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    highlight = models.ForeignKey(
        Highlight, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(feedback__isnull=False, highlight__isnull=True)
                    | models.Q(feedback__isnull=True, highlight__isnull=False)
                ),
                name="evidence_one_source",
            ),
            models.UniqueConstraint(
                fields=["insight", "feedback"],
                condition=models.Q(feedback__isnull=False),
                name="evidence_unique_feedback",
            ),
            models.UniqueConstraint(
                fields=["insight", "highlight"],
                condition=models.Q(highlight__isnull=False),
                name="evidence_unique_highlight",
            ),
        ]

    def __str__(self) -> str:
        return f"Evidence {self.pk} for {self.insight_id}"


class ImportJob(WorkspaceOwnedModel):
    """One uploaded file being imported by a worker, with its progress and bad rows."""

    class Kind(models.TextChoices):
        FEEDBACK_CSV = "feedback_csv", "Feedback CSV"
        ZENDESK_JSON = "zendesk_json", "Zendesk tickets (JSON)"
        INTERCOM_JSON = "intercom_json", "Intercom conversations (JSON)"
        CUSTOMERS_CSV = "customers_csv", "Customers CSV"
        COMPANIES_CSV = "companies_csv", "Companies CSV"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=500)
    mapping = models.JSONField(default=dict, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    # [{"line": 12, "reason": "..."}], capped so a broken file cannot bloat the row.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Import {self.filename}"


class TaggedText(WorkspaceOwnedModel):
    """The hash of the text the tagging worker last tagged, per item: unchanged texts are
    skipped. A narrow table of its own, because rewriting a feedback row (its search vector and
    every index of the inbox) would cost more than the tagging."""

    feedback = models.OneToOneField(
        Feedback, null=True, blank=True, on_delete=models.CASCADE, related_name="tagged_text"
    )
    highlight = models.OneToOneField(
        Highlight, null=True, blank=True, on_delete=models.CASCADE, related_name="tagged_text"
    )
    text_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(feedback__isnull=False, highlight__isnull=True)
                    | models.Q(feedback__isnull=True, highlight__isnull=False)
                ),
                name="tagged_text_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Tagged {self.feedback_id or self.highlight_id}"


class TagRule(WorkspaceOwnedModel):
    """A keyword, phrase or RE2 expression that tags matching text (see discovery.rules)."""

    class Kind(models.TextChoices):
        KEYWORD = "keyword", "Keyword"
        PHRASE = "phrase", "Phrase"
        REGEX = "regex", "Regular expression"

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.KEYWORD)
    pattern = models.CharField(max_length=300)
    # Empty means every source / every segment.
    sources = ArrayField(models.CharField(max_length=12), default=list, blank=True)
    segments = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tag", "kind", "pattern"], name="tag_rule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pattern!r}"


class TagSuggestion(WorkspaceOwnedModel):
    """A tag the model proposes below its confidence to apply it; a person accepts or rejects.

    Decided suggestions stay: an accepted one became a person's tagging, a rejected one is a
    "this tag does not fit this text" label the next training run learns from.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="suggestions")
    feedback = models.ForeignKey(
        Feedback, null=True, blank=True, on_delete=models.CASCADE, related_name="suggestions"
    )
    highlight = models.ForeignKey(
        Highlight, null=True, blank=True, on_delete=models.CASCADE, related_name="suggestions"
    )
    confidence = models.FloatField()
    model_version = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(feedback__isnull=False, highlight__isnull=True)
                    | models.Q(feedback__isnull=True, highlight__isnull=False)
                ),
                name="suggestion_one_target",
            ),
            models.UniqueConstraint(
                fields=["tag", "feedback"],
                condition=models.Q(feedback__isnull=False),
                name="suggestion_unique_feedback",
            ),
            models.UniqueConstraint(
                fields=["tag", "highlight"],
                condition=models.Q(highlight__isnull=False),
                name="suggestion_unique_highlight",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "status", "feedback"], name="suggestion_ws_status"),
        ]

    def __str__(self) -> str:
        return f"Suggest {self.tag_id} for {self.feedback_id or self.highlight_id}"


class Classifier(WorkspaceOwnedModel):
    """One trained version of a workspace's tag classifier, stored so every worker shares it."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    version = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.TRAINING)
    label_count = models.PositiveIntegerField(default=0)
    tag_count = models.PositiveIntegerField(default=0)
    train_seconds = models.FloatField(default=0)
    # The fitted pipeline (discovery.classifier dumps/loads); empty until READY.
    blob = models.BinaryField(default=b"", editable=False)
    # Cross-validated figures per tag id: {"12": {"precision": .9, "recall": .8, "support": 30}}.
    metrics = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    trained_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "version"], name="classifier_version"),
        ]

    def __str__(self) -> str:
        return f"Classifier v{self.version}"


class TaggingJob(WorkspaceOwnedModel):
    """A background run over many items (re-tag, or finding themes), with its progress."""

    class Kind(models.TextChoices):
        RETAG = "retag", "Re-tag"
        THEMES = "themes", "Find themes"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    # The inbox filter the job covers (empty: the whole workspace).
    filters = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    # What the run found: counts for a re-tag, the candidate themes for a themes run.
    result = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "kind", "-id"], name="tagging_job_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"
