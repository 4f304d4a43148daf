"""Scoring jobs whose task was lost (see pmhub.core.recovery)."""

from __future__ import annotations

from datetime import datetime, timedelta

from backlog.models import ScoringJob
from pmhub.core.recovery import enqueue_again

# A job's task is published when the formula is saved; a worker claims it within seconds.
STALLED_AFTER = timedelta(seconds=20)


def scoring_jobs_resume(*, now: datetime) -> int:
    """Enqueue the scoring jobs still waiting after STALLED_AFTER. A running job keeps its task
    (it is in a worker, not in the queue); only a waiting one can have lost it."""
    from backlog.tasks import scores_recompute_task

    return enqueue_again(
        # cross-workspace: the watchdog serves every workspace's jobs.
        ScoringJob.objects.unscoped().filter(
            status=ScoringJob.Status.PENDING, updated_at__lt=now - STALLED_AFTER
        ),
        lambda job: scores_recompute_task.delay_on_commit(
            workspace_id=job.workspace_id, job_id=job.id
        ),
    )
