"""Mention emails whose task was lost (see pmhub.core.recovery)."""

from __future__ import annotations

from datetime import datetime, timedelta

from docs.models import Mention
from pmhub.core.recovery import enqueue_again

# Longer than a send with the task's own retries in flight: a failing SMTP server is retried
# by the task first, the watchdog only adds a try every STALLED_AFTER.
STALLED_AFTER = timedelta(minutes=2)
# A mention older than this is not worth an email any more.
GIVE_UP_AFTER = timedelta(days=1)


def mentions_resume(*, now: datetime) -> int:
    """Enqueue the mail of each comment whose mentions are still unsent after STALLED_AFTER;
    the number of comments."""
    from docs.tasks import comment_mentions_notify_task

    comments: set[int] = set()

    def enqueue(mention: Mention) -> None:
        if mention.comment_id not in comments:
            comments.add(mention.comment_id)
            comment_mentions_notify_task.delay_on_commit(
                workspace_id=mention.workspace_id, comment_id=mention.comment_id
            )

    enqueue_again(
        # cross-workspace: the watchdog serves every workspace's mentions.
        Mention.objects.unscoped().filter(
            notified_at__isnull=True,
            created_at__gte=now - GIVE_UP_AFTER,
            updated_at__lt=now - STALLED_AFTER,
        ),
        enqueue,
    )
    return len(comments)
