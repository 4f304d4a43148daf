"""Roadmaps: views over the backlog (now/next/later boards, timelines, release plans), releases
with their launch checklists, objectives and key results, the events every change leaves, and
read-only share links.

An item's schedule (its release, start and end) belongs to the item, not to one roadmap: every
timeline and release plan shows the same dates. A now/next/later board places items in its own
columns, so one item can sit in Next on the product roadmap and in Now on a team's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from pmhub.workspaces.models import WorkspaceOwnedModel

DESCRIPTION_MAX_CHARS = 20_000
REASON_MAX_CHARS = 500


class Release(WorkspaceOwnedModel):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        RELEASED = "released", "Released"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX_CHARS)
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    released_on = models.DateField(null=True, blank=True)
    # Bumped on every change: a stale edit (two tabs, If-Match) is refused by comparing it.
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="release_unique_name"),
        ]
        indexes = [
            models.Index(fields=["workspace", "target_date", "id"], name="release_date"),
        ]

    def __str__(self) -> str:
        return self.name


class LaunchTask(WorkspaceOwnedModel):
    """One task of a release's launch checklist: who does what for marketing, sales, support or
    docs, by when."""

    class Team(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"
        SUPPORT = "support", "Support"
        DOCS = "docs", "Docs"
        PRODUCT = "product", "Product"
        ENGINEERING = "engineering", "Engineering"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="launch_tasks")
    title = models.CharField(max_length=200)
    team = models.CharField(max_length=12, choices=Team.choices, default=Team.PRODUCT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    is_done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "release", "position", "id"], name="launch_order"),
        ]

    def __str__(self) -> str:
        return self.title


class ItemSchedule(WorkspaceOwnedModel):
    """When an item is planned: its target release and/or its start and end dates."""

    item = models.OneToOneField("backlog.Item", on_delete=models.CASCADE, related_name="schedule")
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="schedules"
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True)
                | models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="schedule_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "release"], name="schedule_release"),
            models.Index(fields=["workspace", "start_date"], name="schedule_start"),
        ]

    def __str__(self) -> str:
        return f"schedule of item {self.item_id}"


class Objective(WorkspaceOwnedModel):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX_CHARS)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "2026 Q4", "H1 2027": how teams name their planning periods.
    period = models.CharField(max_length=40, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    is_archived = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True)
                | models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="objective_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "position", "id"], name="objective_order"),
        ]

    def __str__(self) -> str:
        return self.title


class KeyResult(WorkspaceOwnedModel):
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="key_results")
    metric = models.CharField(max_length=200)
    unit = models.CharField(max_length=20, blank=True)
    baseline = models.FloatField(default=0)
    target = models.FloatField()
    # The latest value (the newest KeyResultValue, kept here so lists need no join).
    current = models.FloatField(null=True, blank=True)
    current_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    items = models.ManyToManyField(
        "backlog.Item", through="KeyResultItem", related_name="+", blank=True
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(target=models.F("baseline")),
                name="key_result_target_differs_from_baseline",
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "objective", "position", "id"], name="key_result_order"
            ),
        ]

    def __str__(self) -> str:
        return self.metric

    @property
    def progress(self) -> float:
        """How far from baseline to target the current value is, 0..1 (a falling target too)."""
        if self.current is None:
            return 0.0
        share = (self.current - self.baseline) / (self.target - self.baseline)
        return max(0.0, min(1.0, share))


class KeyResultValue(WorkspaceOwnedModel):
    """One dated measurement of a key result: its history, drawn as a chart."""

    class Source(models.TextChoices):
        MANUAL = "manual", "By hand"
        CSV = "csv", "CSV import"
        API = "api", "API"

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="values")
    value = models.FloatField()
    measured_at = models.DateTimeField()
    source = models.CharField(max_length=6, choices=Source.choices, default=Source.MANUAL)
    note = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # A CSV imported twice records each dated value once.
            models.UniqueConstraint(
                fields=["key_result", "measured_at"], name="key_result_value_unique_time"
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "key_result", "measured_at"], name="key_result_history"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.value} at {self.measured_at:%Y-%m-%d}"


class KeyResultItem(WorkspaceOwnedModel):
    """A backlog item meant to move a key result."""

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("backlog.Item", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key_result", "item"], name="key_result_item_unique"),
        ]
        indexes = [models.Index(fields=["workspace", "item"], name="key_result_item_item")]

    def __str__(self) -> str:
        return f"item {self.item_id} for key result {self.key_result_id}"


class Roadmap(WorkspaceOwnedModel):
    class Kind(models.TextChoices):
        NOW_NEXT_LATER = "now_next_later", "Now / next / later"
        TIMELINE = "timeline", "Timeline"
        RELEASE_PLAN = "release_plan", "Release plan"

    class GroupBy(models.TextChoices):
        NONE = "", "No grouping"
        AREA = "area", "Product area"
        OBJECTIVE = "objective", "Objective"

    class Scale(models.TextChoices):
        MONTH = "month", "Months"
        QUARTER = "quarter", "Quarters"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX_CHARS)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NOW_NEXT_LATER)
    # Which backlog items the roadmap shows, by the backlog's own filter names:
    # {"area": [3], "tag": [7], "owner": [2], "status": ["planned", "in_progress"]}.
    filters = models.JSONField(default=dict, blank=True)
    group_by = models.CharField(max_length=10, choices=GroupBy.choices, default="", blank=True)
    scale = models.CharField(max_length=8, choices=Scale.choices, default=Scale.MONTH)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="roadmap_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class RoadmapColumn(WorkspaceOwnedModel):
    """A column of a now/next/later board; `position` orders them left to right, and a move to
    a column further left is a move forward."""

    roadmap = models.ForeignKey(Roadmap, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(max_length=60)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint("roadmap", Lower("name"), name="roadmap_column_unique_name"),
        ]
        indexes = [
            models.Index(fields=["workspace", "roadmap", "position"], name="roadmap_column_order"),
        ]

    def __str__(self) -> str:
        return self.name


class Placement(WorkspaceOwnedModel):
    """An item on a now/next/later board: its column and its order within it (a fractional
    rank key, as the backlog's manual order)."""

    roadmap = models.ForeignKey(Roadmap, on_delete=models.CASCADE, related_name="placements")
    column = models.ForeignKey(RoadmapColumn, on_delete=models.CASCADE, related_name="placements")
    item = models.ForeignKey("backlog.Item", on_delete=models.CASCADE, related_name="+")
    rank = models.CharField(max_length=64, db_collation="C")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["roadmap", "item"], name="placement_unique_item"),
        ]
        indexes = [
            models.Index(fields=["workspace", "roadmap", "column", "rank"], name="placement_order"),
            models.Index(fields=["workspace", "item"], name="placement_item"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} in column {self.column_id}"


class RoadmapEvent(WorkspaceOwnedModel):
    """What changed on the roadmap, by whom, from what to what, and why: a move between columns,
    a date or release change, a ship or a decline, a release's own date or status change.
    History pages and the stakeholder digests read these; they are never edited."""

    class Kind(models.TextChoices):
        PLACED = "placed", "Added to a roadmap"
        MOVED = "moved", "Moved"
        REMOVED = "removed", "Removed from a roadmap"
        REDATED = "redated", "Dates changed"
        RELEASE_CHANGED = "release_changed", "Release changed"
        SHIPPED = "shipped", "Shipped"
        DECLINED = "declined", "Declined"
        RELEASE_REDATED = "release_redated", "Release date changed"
        RELEASE_STATUS = "release_status", "Release status changed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    item = models.ForeignKey(
        "backlog.Item", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    roadmap = models.ForeignKey(
        Roadmap, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # {"column": "Next", "column_id": 4} / {"start": "2026-11-02", "end": "2026-12-18"} / ...
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=REASON_MAX_CHARS, blank=True)
    # Whether the change went backwards (a later column, a later date): the UI asks why.
    is_setback = models.BooleanField(default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "created_at", "id"], name="roadmap_event_time"),
            models.Index(fields=["workspace", "roadmap", "created_at"], name="roadmap_event_map"),
            models.Index(fields=["workspace", "item", "created_at"], name="roadmap_event_item"),
            models.Index(
                fields=["workspace", "release", "created_at"], name="roadmap_event_release"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class ShareLink(WorkspaceOwnedModel):
    """A read-only link to one roadmap for people without an account. Only the token's SHA-256
    is stored; the page shows only `fields`."""

    roadmap = models.ForeignKey(Roadmap, on_delete=models.CASCADE, related_name="share_links")
    name = models.CharField(max_length=80, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=12)
    # Optional fields shown beyond the title and the column/dates, e.g. ["status", "area",
    # "description", "customers", "arr", "companies"]; see roadmap.sharing.SHAREABLE_FIELDS.
    fields = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "roadmap"], name="share_link_roadmap")]

    def __str__(self) -> str:
        return self.name or f"share link {self.token_prefix}…"
