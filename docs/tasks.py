from __future__ import annotations

import smtplib

from celery import shared_task

from docs.review import mention_emails_send
from pmhub.workspaces.models import Workspace


@shared_task(
    name="pmhub.docs.mention_emails_send",
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def comment_mentions_notify_task(*, workspace_id: int, comment_id: int) -> int:
    """Email the members a comment mentions. Idempotent: each Mention is claimed under a row lock
    (skip_locked) only while its `notified_at` is empty, and stamped when its mail went out."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return 0
    return mention_emails_send(workspace=workspace, comment_id=comment_id)
