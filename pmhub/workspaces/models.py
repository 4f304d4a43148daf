from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from pmhub.workspaces.querysets import WorkspaceQuerySet
from pmhub.workspaces.roles import Role

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1 to 50 lowercase letters, digits or hyphens, starting and ending with a letter or digit.",
)

ONE_LINE_VALIDATOR = RegexValidator(
    r"^[^\x00-\x1f\x7f]*\Z",
    "Use one line of text, without line breaks or control characters.",
)


class Workspace(models.Model):
    """The tenant. Every tenant-owned row points here."""

    name = models.CharField(max_length=80, validators=[ONE_LINE_VALIDATOR])
    slug = models.CharField(max_length=50, unique=True, validators=[SLUG_VALIDATOR])
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Members without two-factor authentication are sent to set it up before any page; kept on
    # the row read with every membership, so the check costs no query.
    two_factor_required = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkspaceOwnedModel(models.Model):
    """Base of every tenant-owned model: a non-null, indexed workspace and timestamps.

    Services set `workspace` explicitly; nothing fills it from request or thread state.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(WorkspaceOwnedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Invitation(WorkspaceOwnedModel):
    class EmailStatus(models.TextChoices):
        PENDING = "pending", "Sending"
        SENT = "sent", "Sent"

    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    # Random and unguessable; the link carries it signed with SECRET_KEY, so a copy of the
    # database alone cannot forge links.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    email_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "workspace",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AuditEvent(WorkspaceOwnedModel):
    """Who changed what, written by the service call that made the change."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text so the log still names people after their account is gone.
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "-id"], name="audit_ws_recent"),
            models.Index(fields=["workspace", "action", "-id"], name="audit_ws_action"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    @property
    def change_rows(self) -> list[tuple[str, Any, Any, bool]]:
        """(field, before, after, is_change) per entry; `[old, new]` pairs are changes."""
        rows = []
        for name, value in self.changes.items():
            if isinstance(value, list) and len(value) == 2:
                rows.append((name, value[0], value[1], True))
            else:
                rows.append((name, None, value, False))
        return rows


class IdempotentRequest(WorkspaceOwnedModel):
    """An API POST sent with an `Idempotency-Key` header, and the answer it got.

    The row is inserted in the transaction that does the request's work and carries its 2xx
    answer, so it is committed together with what it created: a client whose connection broke
    after the commit sends the same key again and gets the same answer instead of a second
    object. A request still running holds the row's lock, so a concurrent retry waits for it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, the path with its query and the body: the same key sent with
    # another request is refused rather than answered with the first one's result.
    fingerprint = models.CharField(max_length=64)
    # Filled in before the commit: a committed row always holds its answer.
    status_code = models.PositiveSmallIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    location = models.CharField(max_length=2000, blank=True)
    etag = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "key"], name="idempotent_request_unique_key"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotent_request_created")]

    def __str__(self) -> str:
        return f"{self.key} → {self.status_code}"
