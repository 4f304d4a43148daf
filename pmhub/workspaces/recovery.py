"""Invitation emails whose task was lost (see pmhub.core.recovery)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pmhub.core.recovery import enqueue_again
from pmhub.workspaces.models import Invitation

# Longer than a send with the task's own retries in flight (see docs.recovery).
STALLED_AFTER = timedelta(minutes=2)


def invitations_resume(*, now: datetime) -> int:
    """Enqueue the mail of each open invitation still unsent after STALLED_AFTER."""
    from pmhub.workspaces.tasks import invitation_send_task

    return enqueue_again(
        # cross-workspace: the watchdog serves every workspace's invitations.
        Invitation.objects.unscoped().filter(
            email_status=Invitation.EmailStatus.PENDING,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
            updated_at__lt=now - STALLED_AFTER,
        ),
        lambda invitation: invitation_send_task.delay_on_commit(
            workspace_id=invitation.workspace_id, invitation_id=invitation.id
        ),
    )
