"""Stakeholder digests: the people who follow the product by email, what each follows, and one
delivery record per (stakeholder, period), created before anything is sent so that a sweeper
run twice, or two beats, never makes a second one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from pmhub.workspaces.models import WorkspaceOwnedModel

MAX_FAILURES = 3  # permanent SMTP failures in a row before the address is paused


def _exactly_one(*fields: str) -> Q:
    """A condition: exactly one of these foreign keys is set."""
    condition = Q()
    for chosen in fields:
        condition |= Q(**{f"{f}__isnull": f != chosen for f in fields})
    return condition


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    IMMEDIATELY = "immediately", "Immediately"
    OFF = "off", "Off"


class DigestSettings(WorkspaceOwnedModel):
    """The workspace's defaults, which a stakeholder may override."""

    cadence = models.CharField(max_length=12, choices=Cadence.choices, default=Cadence.WEEKLY)
    send_hour = models.PositiveSmallIntegerField(default=8)
    timezone = models.CharField(max_length=64, default="UTC")
    sender_name = models.CharField(max_length=120, blank=True)
    reply_to = models.EmailField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="digestsettings_unique_workspace"),
            models.CheckConstraint(
                condition=Q(send_hour__lte=23), name="digestsettings_send_hour_range"
            ),
        ]


class Stakeholder(WorkspaceOwnedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused (delivery failures)"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField()
    name = models.CharField(max_length=120, blank=True)
    # A member of the workspace, when the stakeholder is one: their links go to the app.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.CharField(max_length=80, blank=True)
    # Follows everything in the workspace; otherwise only what its Follow rows name.
    follows_workspace = models.BooleanField(default=False)
    # Blank: the workspace's default.
    cadence = models.CharField(max_length=12, choices=Cadence.choices, blank=True)
    send_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    failure_count = models.PositiveSmallIntegerField(default=0)
    last_failure = models.CharField(max_length=500, blank=True)
    # The end of the newest period delivered: the next digest covers what happened since.
    covered_until = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("email"), name="stakeholder_unique_email"),
            models.CheckConstraint(
                condition=Q(send_hour__isnull=True) | Q(send_hour__lte=23),
                name="stakeholder_send_hour_range",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "status"], name="stakeholder_status"),
        ]

    def __str__(self) -> str:
        return self.name or self.email


class Follow(WorkspaceOwnedModel):
    """One thing a stakeholder follows: a product area, a roadmap, an item, or a company (the
    companies an account owner owns are followed with `owns`)."""

    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.CASCADE, related_name="follows")
    area = models.ForeignKey(
        "backlog.ProductArea", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    roadmap = models.ForeignKey(
        "roadmap.Roadmap", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        "backlog.Item", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company = models.ForeignKey(
        "discovery.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    owns = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one("area", "roadmap", "item", "company"),
                name="follow_one_target",
            ),
            models.CheckConstraint(
                condition=Q(owns=False) | Q(company__isnull=False), name="follow_owns_a_company"
            ),
            models.UniqueConstraint(
                fields=["stakeholder", "area"], name="follow_unique_area",
                condition=Q(area__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["stakeholder", "roadmap"], name="follow_unique_roadmap",
                condition=Q(roadmap__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["stakeholder", "item"], name="follow_unique_item",
                condition=Q(item__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["stakeholder", "company"], name="follow_unique_company",
                condition=Q(company__isnull=False),
            ),
        ]  # fmt: skip


class Delivery(WorkspaceOwnedModel):
    """One digest for one stakeholder and period, created (unique) before any sending. Senders
    claim pending rows with row locks (skip locked), send, and mark each sent in the same step."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENT = "sent", "Sent"
        EMPTY = "empty", "Nothing to tell"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (paused or unsubscribed)"

    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The period in the stakeholder's timezone: "2026-11-26" daily, "2026-W48" weekly,
    # "2026-11" monthly, "now-<event id>" for an immediate one, "test-<uuid>" for a test send.
    period = models.CharField(max_length=48)
    due_at = models.DateTimeField()
    # What the digest covers: (covers_from, covers_until].
    covers_from = models.DateTimeField(null=True, blank=True)
    covers_until = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    # What was sent, for the send log.
    subject = models.CharField(max_length=200, blank=True)
    entry_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stakeholder", "period"], name="delivery_unique_period"
            ),
        ]
        indexes = [
            # The senders claim pending rows in id order: this index hands them over in that
            # order whatever the size of the send history.
            models.Index(fields=["id"], name="delivery_pending", condition=Q(status="pending")),
            models.Index(fields=["workspace", "stakeholder", "-due_at"], name="delivery_log"),
        ]
