from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from pmhub.workspaces.models import AuditEvent, Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User


def audit_record(
    *,
    workspace: Workspace,
    actor: User | None,
    action: str,
    target: models.Model,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that `actor` did `action` to `target`. Call it inside the service's transaction.

    `changes` maps field names to `[old, new]` (or to a plain value for things that have no
    before, such as the email an invitation went to).
    """
    return AuditEvent.objects.create(
        workspace=workspace,
        actor=actor,
        actor_label=actor.email if actor else "system",
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        object_repr=str(target)[:200],
        changes=changes or {},
    )
