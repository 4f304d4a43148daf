from __future__ import annotations

import smtplib

from celery import shared_task

from pmhub.workspaces.idempotency import idempotent_requests_prune
from pmhub.workspaces.models import Workspace
from pmhub.workspaces.services import invitation_email_send


@shared_task(
    name="pmhub.workspaces.invitation_email_send",
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def invitation_send_task(*, workspace_id: int, invitation_id: int) -> None:
    """Send one invitation mail. Idempotent: the service's status guard skips a sent invitation."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    invitation_email_send(workspace=workspace, invitation_id=invitation_id)


@shared_task(name="pmhub.workspaces.idempotency_keys_prune", acks_late=True, ignore_result=True)
def idempotency_keys_prune_task() -> None:
    """Forget API idempotency keys past their 24 hours. Idempotent: a delete by age."""
    idempotent_requests_prune()
