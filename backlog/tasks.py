"""Celery tasks of the backlog: thin wrappers that load rows by id in the workspace."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from backlog.models import ScoringJob
from backlog.scoring import scores_recompute_run, scoring_job_finish
from pmhub.core.queue import PmhubTask
from pmhub.workspaces.models import Workspace


class ScoresRecomputeTask(PmhubTask):
    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: dict[str, Any], einfo: Any
    ) -> None:
        """A terminal error: mark the job FAILED so the page stops waiting."""
        workspace = Workspace.objects.filter(id=kwargs.get("workspace_id")).first()
        if workspace is not None:
            scoring_job_finish(
                workspace=workspace,
                job_id=kwargs["job_id"],
                status=ScoringJob.Status.FAILED,
                message="The recompute stopped on an unexpected error; save the formula again.",
            )


@shared_task(
    base=ScoresRecomputeTask,
    name="pmhub.backlog.scores_recompute",
    acks_late=True,
    # A lost database connection is transient: the retry starts over, skipping current scores.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    # 100,000 items take well under a minute; below the broker's visibility timeout (one hour).
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def scores_recompute_task(*, workspace_id: int, job_id: int) -> None:
    """Recompute every item's score by one formula. Idempotent: the service's status guard
    (PENDING/RUNNING -> RUNNING under a row lock) skips finished and superseded jobs, and a
    score already current is not written again."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    try:
        scores_recompute_run(workspace=workspace, job_id=job_id)
    except ScoringJob.DoesNotExist:
        return  # Deleted with its formula or workspace: nothing to do.
