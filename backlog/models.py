"""Backlog: items (ideas, features, epics), the evidence that asks for them, and their demand."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Lower

from backlog.score_key import score_sort_key
from pmhub.workspaces.models import WorkspaceOwnedModel

DESCRIPTION_MAX_CHARS = 50_000


class ProductArea(WorkspaceOwnedModel):
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True, max_length=2000)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="product_area_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Item(WorkspaceOwnedModel):
    class Kind(models.TextChoices):
        IDEA = "idea", "Idea"
        FEATURE = "feature", "Feature"
        EPIC = "epic", "Epic"

    class Status(models.TextChoices):
        NEW = "new", "New"
        UNDER_CONSIDERATION = "considering", "Under consideration"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        SHIPPED = "shipped", "Shipped"
        DECLINED = "declined", "Declined"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX_CHARS)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.IDEA)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    declined_reason = models.CharField(max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    area = models.ForeignKey(
        ProductArea, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    tags = models.ManyToManyField("discovery.Tag", through="ItemTag", related_name="+", blank=True)
    effort = models.FloatField(null=True, blank=True)
    # Manual order: a fractional-index key (backlog.ranking); byte order, so "C" collation.
    rank = models.CharField(max_length=64, db_collation="C")
    # Bumped on every change: stale edits (two tabs, If-Match) are refused by comparing it.
    version = models.PositiveIntegerField(default=1)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Demand, stored and kept current by backlog.services whenever evidence or customers change,
    # so lists and sorts never count on the fly.
    evidence_count = models.PositiveIntegerField(default=0, db_default=0)
    customer_count = models.PositiveIntegerField(default=0, db_default=0)
    company_count = models.PositiveIntegerField(default=0, db_default=0)
    arr = models.DecimalField("ARR", max_digits=16, decimal_places=2, default=0, db_default=0)
    critical_count = models.PositiveIntegerField(default=0, db_default=0)
    important_count = models.PositiveIntegerField(default=0, db_default=0)
    # {"Enterprise": {"customers": 3, "companies": 2, "arr": "1240000.00"}, ...}
    demand_by_segment = models.JSONField(default=dict, blank=True)
    search_vector = models.GeneratedField(
        expression=SearchVector("title", "description", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="declined") | ~models.Q(declined_reason=""),
                name="item_declined_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")), name="item_not_own_parent"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "rank", "id"], name="item_rank"),
            models.Index(fields=["workspace", "status", "rank"], name="item_status_rank"),
            models.Index(fields=["workspace", "-customer_count", "-id"], name="item_customers"),
            models.Index(fields=["workspace", "-arr", "-id"], name="item_arr"),
            models.Index(fields=["workspace", "parent"], name="item_parent"),
            GinIndex(fields=["search_vector"], name="item_search"),
        ]

    def __str__(self) -> str:
        return self.title


class ItemTag(WorkspaceOwnedModel):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="item_tags")
    tag = models.ForeignKey("discovery.Tag", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "tag"], name="item_tag_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.item_id}"


class ItemEvidence(WorkspaceOwnedModel):
    """An insight or a feedback item that asks for a backlog item."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="evidence")
    insight = models.ForeignKey(
        "discovery.Insight", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    feedback = models.ForeignKey(
        "discovery.Feedback", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
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
        verbose_name_plural = "item evidence"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(insight__isnull=False, feedback__isnull=True)
                    | models.Q(insight__isnull=True, feedback__isnull=False)
                ),
                name="item_evidence_one_source",
            ),
            models.UniqueConstraint(
                fields=["item", "insight"],
                condition=models.Q(insight__isnull=False),
                name="item_evidence_unique_insight",
            ),
            models.UniqueConstraint(
                fields=["item", "feedback"],
                condition=models.Q(feedback__isnull=False),
                name="item_evidence_unique_feedback",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "insight"], name="item_evidence_insight"),
            models.Index(fields=["workspace", "feedback"], name="item_evidence_feedback"),
            # An item's newest links (its page, the quotes window) without sorting all of them.
            models.Index(fields=["item", "-created_at", "-id"], name="item_evidence_recent"),
        ]

    def __str__(self) -> str:
        return f"Evidence {self.pk} for {self.item_id}"


class ItemCustomer(WorkspaceOwnedModel):
    """A customer who asked for an item (through any of its evidence), counted once, with how
    much it matters to them. Rows follow the evidence; the importance a PM set survives."""

    class Importance(models.TextChoices):
        NICE_TO_HAVE = "nice", "Nice to have"
        IMPORTANT = "important", "Important"
        CRITICAL = "critical", "Critical"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="customers")
    customer = models.ForeignKey("discovery.Customer", on_delete=models.CASCADE, related_name="+")
    importance = models.CharField(
        max_length=9, choices=Importance.choices, default=Importance.NICE_TO_HAVE
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "customer"], name="item_customer_unique"),
        ]
        indexes = [
            models.Index(fields=["workspace", "customer"], name="item_customer_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} asks for {self.item_id}"


# --- scoring (backlog.scoring) -----------------------------------------------------------------
class ScoreField(WorkspaceOwnedModel):
    """A workspace's own scoring input (a number or a choice), usable in any of its formulas."""

    class Kind(models.TextChoices):
        NUMBER = "number", "Number"
        CHOICE = "choice", "Choice"

    name = models.CharField(max_length=40)
    label = models.CharField(max_length=80)
    help = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.NUMBER)
    # [[value, label], ...] for a choice field; the values are numbers.
    choices = models.JSONField(default=list, blank=True)
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="score_field_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ScoringFormula(WorkspaceOwnedModel):
    """A score every item gets: a built-in framework's (framework set) or the workspace's own."""

    name = models.CharField(max_length=80)
    source = models.TextField(max_length=1_000)
    # A key of backlog.formula.FRAMEWORKS, or "" for a workspace formula.
    framework = models.CharField(max_length=20, blank=True)
    position = models.PositiveIntegerField(default=0)
    # The workspace's default sort; at most one per workspace.
    is_primary = models.BooleanField(default=False)
    # Bumped on every change of the source: a recompute job for an older version is superseded.
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="scoring_formula_unique_name"),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(is_primary=True),
                name="scoring_formula_one_primary",
            ),
            models.UniqueConstraint(
                fields=["workspace", "framework"],
                condition=~models.Q(framework=""),
                name="scoring_formula_one_per_framework",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ItemInputs(WorkspaceOwnedModel):
    """The scoring inputs a PM set on an item, and the demand its scores last saw.

    `values` keys: "<framework>.<field>" for a framework's inputs (RICE's impact, 0.25 to 3, is
    not ICE's impact, 1 to 10), and the plain name for a workspace ScoreField.
    """

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="score_inputs")
    values = models.JSONField(default=dict, blank=True)
    # The demand figures at the last recompute: the history says what changed ("+3 customers").
    demand = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "item inputs"

    def __str__(self) -> str:
        return f"Inputs of {self.item_id}"


class ItemScore(WorkspaceOwnedModel):
    """An item's stored score by one formula; null when it cannot be known (see reason)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="scores")
    formula = models.ForeignKey(ScoringFormula, on_delete=models.CASCADE, related_name="scores")
    value = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "formula"], name="item_score_unique"),
        ]
        indexes = [
            # "Top N by this score" and rank counts are one index range scan; unknown scores last.
            models.Index(
                "workspace",
                "formula",
                models.F("value").desc(nulls_last=True),
                "item",
                name="item_score_rank",
            ),
            # Lists sorted by score walk this (unknown scores as -Infinity, see score_key).
            models.Index(
                "workspace",
                "formula",
                score_sort_key().desc(),
                "item",
                name="item_score_sort",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} by {self.formula_id}: {self.value}"


class ScoreChange(WorkspaceOwnedModel):
    """One move of an item's score, with its rank before and after and why it moved."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="score_changes")
    formula = models.ForeignKey(
        ScoringFormula, on_delete=models.CASCADE, related_name="score_changes"
    )
    old_value = models.FloatField(null=True, blank=True)
    new_value = models.FloatField(null=True, blank=True)
    # 1 + the number of items scoring strictly higher; null while the score is unknown.
    old_position = models.PositiveIntegerField(null=True, blank=True)
    new_position = models.PositiveIntegerField(null=True, blank=True)
    cause = models.CharField(max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "item", "formula", "-id"], name="score_change_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} by {self.formula_id}: {self.old_value} -> {self.new_value}"


class ScoringJob(WorkspaceOwnedModel):
    """Recomputing every item's score by one formula in the background, with its progress."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded"

    formula = models.ForeignKey(ScoringFormula, on_delete=models.CASCADE, related_name="jobs")
    # The formula version this job scores; a later edit starts a new job and this one stops.
    formula_version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    cause = models.CharField(max_length=500, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
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
            models.Index(fields=["workspace", "formula", "-id"], name="scoring_job_recent"),
        ]

    def __str__(self) -> str:
        return f"Scoring job {self.pk} ({self.status})"


# --- saved views (backlog.saved_views) -------------------------------------------------------
class SavedView(WorkspaceOwnedModel):
    """A named set of the backlog's filters and sort, opened as a table, a board or a matrix;
    shared with the workspace or kept for the person who made it."""

    class Layout(models.TextChoices):
        TABLE = "table", "Table"
        BOARD = "board", "Board"
        MATRIX = "matrix", "Matrix"

    name = models.CharField(max_length=80)
    layout = models.CharField(max_length=6, choices=Layout.choices, default=Layout.TABLE)
    # The page's GET parameters, cleaned by backlog.saved_views: {"status": ["new"], "sort": "arr"}
    params = models.JSONField(default=dict, blank=True)
    is_shared = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "workspace",
                Lower("name"),
                condition=models.Q(is_shared=True),
                name="saved_view_unique_shared_name",
            ),
            models.UniqueConstraint(
                "workspace",
                "created_by",
                Lower("name"),
                condition=models.Q(is_shared=False),
                name="saved_view_unique_personal_name",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "position", "id"], name="saved_view_order"),
        ]

    def __str__(self) -> str:
        return self.name
